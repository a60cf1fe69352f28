//! The Hello message (devp2p rlpx.md "Hello (0x00)", EIP-8 "devp2p Base Protocol").
//!
//! `[protocolVersion, clientId, [[cap-name, cap-version], ...], listenPort, nodeKey, ...]`
//!
//! Hello is the first message each side sends after the handshake, never snappy-compressed.
//! Following EIP-8 the decoder accepts any protocol version and ignores extra list elements;
//! everything else is bounded: the payload size, the client id length, the number of
//! capabilities and each capability name.

use rlp::RlpStream;

use super::{
    BASE_PROTOCOL_MESSAGE_SIZE_MAX, Capability, P2pError, decode_bytes, decode_uint, list_items,
    next_item,
};
use crate::crypto::PublicKey;

/// The longest client id we accept. Real ids ("Geth/v1.14.11-stable/linux-amd64/go1.23.2") are
/// well under 100 bytes; 256 leaves room while keeping log lines sane.
pub const CLIENT_ID_LEN_MAX: usize = 256;

/// The most capabilities we accept in one Hello. Clients advertise a handful (eth versions,
/// snap, a few others); 64 is far above that and keeps matching cheap.
pub const CAPABILITIES_COUNT_MAX: usize = 64;

/// The first message of the p2p protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The p2p version the sender speaks; only compared for the snappy switch.
    pub protocol_version: u64,
    /// Free-form client name and version, for logs.
    pub client_id: String,
    /// The capabilities the sender supports.
    pub capabilities: Vec<Capability>,
    /// Legacy: we send 0 and ignore the remote value (values over 65535 read as 0).
    pub listen_port: u16,
    /// The sender's static public key; must match the key the RLPx handshake authenticated.
    pub id: PublicKey,
}

impl Hello {
    /// The RLP payload of this Hello.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(5);
        s.append(&self.protocol_version);
        s.append(&self.client_id.as_str());
        s.begin_list(self.capabilities.len());
        for cap in &self.capabilities {
            cap.rlp_append(&mut s);
        }
        s.append(&self.listen_port);
        s.append(&&self.id.to_bytes()[..]);
        s.out().to_vec()
    }

    /// Decodes a Hello payload (uncompressed), ignoring extra list elements.
    pub fn decode(payload: &[u8]) -> Result<Self, P2pError> {
        if payload.len() > BASE_PROTOCOL_MESSAGE_SIZE_MAX {
            return Err(P2pError::TooLarge {
                what: "Hello payload",
                size: payload.len(),
                max: BASE_PROTOCOL_MESSAGE_SIZE_MAX,
            });
        }
        let mut fields = list_items(payload)?;
        let protocol_version = decode_uint::<u64>(next_item(&mut fields, "Hello version")?)?;

        let client_id = decode_bytes(next_item(&mut fields, "Hello client id")?)?;
        if client_id.len() > CLIENT_ID_LEN_MAX {
            return Err(P2pError::TooLarge {
                what: "Hello client id",
                size: client_id.len(),
                max: CLIENT_ID_LEN_MAX,
            });
        }
        // The client id is only displayed, so invalid UTF-8 is replaced rather than refused.
        let client_id = String::from_utf8_lossy(client_id).into_owned();

        let mut capabilities = Vec::new();
        for item in list_items(next_item(&mut fields, "Hello capabilities")?)? {
            if capabilities.len() == CAPABILITIES_COUNT_MAX {
                return Err(P2pError::TooLarge {
                    what: "Hello capability list",
                    size: CAPABILITIES_COUNT_MAX + 1,
                    max: CAPABILITIES_COUNT_MAX,
                });
            }
            capabilities.push(Capability::decode(item?)?);
        }

        // listenPort is legacy and ignored; a value that does not fit a port reads as 0.
        let listen_port = decode_uint::<u64>(next_item(&mut fields, "Hello listen port")?)?;
        let listen_port = u16::try_from(listen_port).unwrap_or(0);

        let id = decode_bytes(next_item(&mut fields, "Hello node id")?)?;
        if id.len() != 64 {
            return Err(P2pError::BadNodeId);
        }
        let id = PublicKey::from_bytes(id).map_err(|_| P2pError::BadNodeId)?;

        // EIP-8: extra elements are ignored, but they must still be well-formed RLP.
        for extra in fields {
            extra?;
        }
        Ok(Hello {
            protocol_version,
            client_id,
            capabilities,
            listen_port,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    fn sample() -> Hello {
        let key = SecretKey::from_bytes(&[0x11; 32]).unwrap();
        Hello {
            protocol_version: 5,
            client_id: "ethpeer/test".into(),
            capabilities: vec![Capability::new("eth", 68), Capability::new("eth", 69)],
            listen_port: 0,
            id: key.public_key(),
        }
    }

    #[test]
    fn roundtrip() {
        let hello = sample();
        assert_eq!(Hello::decode(&hello.encode()), Ok(hello));
    }

    #[test]
    fn too_many_capabilities_are_refused() {
        let mut hello = sample();
        hello.capabilities = vec![Capability::new("x", 1); CAPABILITIES_COUNT_MAX + 1];
        assert!(matches!(
            Hello::decode(&hello.encode()),
            Err(P2pError::TooLarge { .. })
        ));
        hello.capabilities.truncate(CAPABILITIES_COUNT_MAX);
        assert!(Hello::decode(&hello.encode()).is_ok());
    }

    #[test]
    fn long_client_id_is_refused() {
        let mut hello = sample();
        hello.client_id = "x".repeat(CLIENT_ID_LEN_MAX + 1);
        assert!(matches!(
            Hello::decode(&hello.encode()),
            Err(P2pError::TooLarge { .. })
        ));
    }

    #[test]
    fn missing_node_id_is_refused() {
        let mut s = RlpStream::new_list(4);
        s.append(&5u64).append(&"x").begin_list(0);
        s.append(&0u64);
        assert_eq!(
            Hello::decode(&s.out()),
            Err(P2pError::Malformed("Hello node id"))
        );
    }
}
