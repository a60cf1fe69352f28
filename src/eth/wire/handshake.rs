//! The eth handshake's decisions (devp2p caps/eth.md "Status"; EIP-2124 for the fork id;
//! EIP-7642 for the eth/69 block range): which Status we send, and whether a remote Status lets
//! the session go on. The deadline and the byte exchange live in the per-connection task; this
//! module only decides, so every rule is tested without a socket.
//!
//! A remote Status is refused when its version is not the negotiated one, its network id or
//! genesis hash differ from ours, its fork id fails the EIP-2124 rules against our head, or (eth/69
//! and later) its block range is inverted. Each refusal says which, for the log line, and ends the
//! session with "subprotocol error", as go-ethereum does for a failed handshake.

use std::fmt;

use super::{EthVersion, Hash, Status, Status68, Status69};
use crate::chain::forkid::ForkIdError;
use crate::chain::header::U256;
use crate::chain::spec::ChainSpec;

/// What our Status says about our chain: the canonical head and the blocks we serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Head block number.
    pub number: u64,
    /// Head block hash.
    pub hash: Hash,
    /// Head block timestamp (selects time-based forks for the fork id).
    pub time: u64,
    /// Total difficulty at the head (eth/68 only).
    pub td: U256,
    /// The earliest block whose body and receipts we serve (eth/69+).
    pub earliest: u64,
}

impl ChainHead {
    /// A chain that holds only its genesis block.
    pub fn genesis(spec: &ChainSpec) -> ChainHead {
        ChainHead {
            number: 0,
            hash: spec.genesis_hash,
            time: spec.genesis_header.timestamp,
            td: spec.genesis_header.difficulty,
            earliest: 0,
        }
    }
}

/// Why a remote Status was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusError {
    /// The Status is of another eth version than the negotiated one.
    Version { ours: u32, theirs: u32 },
    /// Another network.
    NetworkId { ours: u64, theirs: u64 },
    /// Another genesis block.
    Genesis { ours: Hash, theirs: Hash },
    /// The fork id is incompatible with our chain (EIP-2124).
    ForkId(ForkIdError),
    /// eth/69+: the announced range ends before it starts.
    BlockRange { earliest: u64, latest: u64 },
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusError::Version { ours, theirs } => {
                write!(f, "protocol version mismatch: ours {ours}, theirs {theirs}")
            }
            StatusError::NetworkId { ours, theirs } => {
                write!(f, "network id mismatch: ours {ours}, theirs {theirs}")
            }
            StatusError::Genesis { ours, theirs } => write!(
                f,
                "genesis mismatch: ours 0x{}, theirs 0x{}",
                crate::crypto::hex(ours),
                crate::crypto::hex(theirs)
            ),
            StatusError::ForkId(e) => write!(f, "fork id rejected: {e}"),
            StatusError::BlockRange { earliest, latest } => {
                write!(
                    f,
                    "invalid block range: earliest {earliest} > latest {latest}"
                )
            }
        }
    }
}

impl std::error::Error for StatusError {}

/// Our Status in the form `version` uses.
pub fn our_status(version: EthVersion, spec: &ChainSpec, head: &ChainHead) -> Status {
    let fork_id = spec.fork_id(head.number, head.time);
    match version {
        EthVersion::Eth68 => Status::Eth68(Status68 {
            version: version.number(),
            network_id: spec.network_id,
            td: head.td.0,
            head: head.hash,
            genesis: spec.genesis_hash,
            fork_id,
        }),
        EthVersion::Eth69 | EthVersion::Eth70 => Status::Eth69(Status69 {
            version: version.number(),
            network_id: spec.network_id,
            genesis: spec.genesis_hash,
            fork_id,
            earliest: head.earliest.min(head.number),
            latest: head.number,
            latest_hash: head.hash,
        }),
    }
}

/// Checks a remote Status received on a session that negotiated `version`, with our chain at
/// `head`. The order of the checks is go-ethereum's: version, network, genesis, fork id.
pub fn check_status(
    version: EthVersion,
    spec: &ChainSpec,
    head: &ChainHead,
    theirs: &Status,
) -> Result<(), StatusError> {
    if theirs.version() != version.number() {
        return Err(StatusError::Version {
            ours: version.number(),
            theirs: theirs.version(),
        });
    }
    if theirs.network_id() != spec.network_id {
        return Err(StatusError::NetworkId {
            ours: spec.network_id,
            theirs: theirs.network_id(),
        });
    }
    if theirs.genesis() != spec.genesis_hash {
        return Err(StatusError::Genesis {
            ours: spec.genesis_hash,
            theirs: theirs.genesis(),
        });
    }
    spec.validate(theirs.fork_id(), head.number, head.time)
        .map_err(StatusError::ForkId)?;
    if let Status::Eth69(s) = theirs
        && s.earliest > s.latest
    {
        return Err(StatusError::BlockRange {
            earliest: s.earliest,
            latest: s.latest,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::Genesis;

    const GENESIS: &str = r#"{"config": {"chainId": 4242, "londonBlock": 0,
        "shanghaiTime": 10, "cancunTime": 20}, "timestamp": "0x5", "alloc": {}}"#;

    fn spec() -> ChainSpec {
        let g = Genesis::from_json(GENESIS).unwrap();
        ChainSpec::from_genesis(&g, None).unwrap()
    }

    fn head(spec: &ChainSpec) -> ChainHead {
        ChainHead {
            number: 0,
            hash: spec.genesis_hash,
            time: 5,
            td: U256::ZERO,
            earliest: 0,
        }
    }

    #[test]
    fn our_status_passes_our_own_check_in_every_version() {
        let s = spec();
        let h = head(&s);
        for v in [EthVersion::Eth68, EthVersion::Eth69, EthVersion::Eth70] {
            let ours = our_status(v, &s, &h);
            assert_eq!(ours.version(), v.number());
            assert_eq!(check_status(v, &s, &h, &ours), Ok(()), "{v}");
        }
    }

    #[test]
    fn each_mismatch_is_named() {
        let s = spec();
        let h = head(&s);
        let good = our_status(EthVersion::Eth69, &s, &h);
        let Status::Eth69(g) = good else { panic!() };
        let cases: Vec<(Status, &str)> = vec![
            (Status::Eth69(Status69 { version: 70, ..g }), "version"),
            (Status::Eth69(Status69 { network_id: 1, ..g }), "network id"),
            (
                Status::Eth69(Status69 {
                    genesis: [7; 32],
                    ..g
                }),
                "genesis",
            ),
            (
                Status::Eth69(Status69 {
                    fork_id: crate::enr::ForkId {
                        hash: [1, 2, 3, 4],
                        next: 0,
                    },
                    ..g
                }),
                "fork id",
            ),
            (
                Status::Eth69(Status69 {
                    earliest: 5,
                    latest: 4,
                    ..g
                }),
                "block range",
            ),
        ];
        for (theirs, what) in cases {
            let e = check_status(EthVersion::Eth69, &s, &h, &theirs).unwrap_err();
            assert!(e.to_string().contains(what), "{what}: got {e}");
        }
    }
}
