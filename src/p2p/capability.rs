//! Capabilities and their message-id offsets (devp2p rlpx.md "p2p Capability", "Message ID
//! Offsets").
//!
//! A capability is a named, versioned sub-protocol such as `eth/69`. After Hello, the
//! capabilities both sides advertise with the same name and version are shared; of several
//! shared versions of one name only the highest counts. Shared capabilities are sorted by name
//! and get consecutive message-id ranges stacked above the p2p range, each as long as that
//! capability's message count (ids it leaves unused still take their place).

use std::fmt;

use super::{BASE_PROTOCOL_LENGTH, P2pError, decode_bytes, decode_uint, list_items, next_item};

/// The longest capability name: rlpx.md limits names to 8 ASCII characters.
pub const CAPABILITY_NAME_LEN_MAX: usize = 8;

/// A capability as advertised in Hello: `[name, version]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Capability {
    /// 1..=8 printable ASCII characters, e.g. `eth`.
    pub name: String,
    /// The capability's protocol version, e.g. 69.
    pub version: u32,
}

impl Capability {
    /// A capability from a name and version (our own, trusted values).
    pub fn new(name: &str, version: u32) -> Self {
        Capability {
            name: name.to_owned(),
            version,
        }
    }

    /// Appends `[name, version]` to an RLP stream.
    pub fn rlp_append(&self, s: &mut rlp::RlpStream) {
        s.begin_list(2);
        s.append(&self.name.as_str());
        s.append(&self.version);
    }

    /// Decodes one `[name, version, ...]` item (extra elements are ignored, EIP-8).
    pub fn decode(item: &[u8]) -> Result<Self, P2pError> {
        let mut fields = list_items(item)?;
        let name = decode_bytes(next_item(&mut fields, "capability name")?)?;
        let version = decode_uint::<u32>(next_item(&mut fields, "capability version")?)?;
        for extra in fields {
            extra?;
        }
        if name.is_empty()
            || name.len() > CAPABILITY_NAME_LEN_MAX
            || !name.iter().all(|b| b.is_ascii_graphic())
        {
            return Err(P2pError::BadCapabilityName);
        }
        // The bytes are ASCII, so this conversion cannot fail.
        let name = String::from_utf8_lossy(name).into_owned();
        Ok(Capability { name, version })
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.version)
    }
}

/// A capability we support, with the number of message ids it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCapability {
    pub capability: Capability,
    /// The size of its message-id range (eth/69: 18, snap/1: 8).
    pub length: u64,
    /// Its largest decoded message; the session refuses a larger one before allocating it
    /// (eth: 10 MiB). At most the RLPx frame limit.
    pub message_size_max: usize,
}

impl LocalCapability {
    /// A capability whose messages may be as large as an RLPx frame allows.
    pub fn new(capability: Capability, length: u64) -> LocalCapability {
        LocalCapability {
            capability,
            length,
            message_size_max: crate::p2p::session::MESSAGE_SIZE_MAX,
        }
    }
}

/// A capability both sides share, with the message-id range it got on this connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedCapability {
    pub capability: Capability,
    /// The first message id of the range on the wire.
    pub offset: u64,
    /// The number of ids in the range.
    pub length: u64,
}

impl SharedCapability {
    /// Whether the wire message id `id` falls in this capability's range.
    pub fn contains(&self, id: u64) -> bool {
        id >= self.offset && id - self.offset < self.length
    }
}

/// Matches our capabilities against the remote's Hello: keeps the ones with the same name and
/// version on both sides, only the highest version of each name, sorted by name, with offsets
/// stacked from [`BASE_PROTOCOL_LENGTH`].
pub fn match_capabilities(
    ours: &[LocalCapability],
    theirs: &[Capability],
) -> Vec<SharedCapability> {
    let mut best: Vec<&LocalCapability> = Vec::new();
    for local in ours.iter().filter(|l| theirs.contains(&l.capability)) {
        match best
            .iter_mut()
            .find(|b| b.capability.name == local.capability.name)
        {
            Some(b) if b.capability.version < local.capability.version => *b = local,
            Some(_) => {}
            None => best.push(local),
        }
    }
    best.sort_by(|a, b| a.capability.name.cmp(&b.capability.name));
    let mut offset = BASE_PROTOCOL_LENGTH;
    best.into_iter()
        .map(|local| {
            let shared = SharedCapability {
                capability: local.capability.clone(),
                offset,
                length: local.length,
            };
            offset = offset.saturating_add(local.length);
            shared
        })
        .collect()
}

/// The shared capability a wire message id belongs to, with the id relative to its range.
pub fn capability_for_id(shared: &[SharedCapability], id: u64) -> Option<(&SharedCapability, u64)> {
    shared
        .iter()
        .find(|c| c.contains(id))
        .map(|c| (c, id - c.offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(name: &str, version: u32, length: u64) -> LocalCapability {
        LocalCapability::new(Capability::new(name, version), length)
    }

    #[test]
    fn only_highest_common_version_is_kept() {
        let ours = [
            local("eth", 68, 17),
            local("eth", 69, 18),
            local("snap", 1, 8),
        ];
        let theirs = [
            Capability::new("eth", 68),
            Capability::new("eth", 69),
            Capability::new("eth", 70),
        ];
        let shared = match_capabilities(&ours, &theirs);
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0].capability, Capability::new("eth", 69));
        assert_eq!((shared[0].offset, shared[0].length), (0x10, 18));
    }

    #[test]
    fn ids_map_to_ranges() {
        let ours = [local("snap", 1, 8), local("eth", 69, 18)];
        let theirs = [Capability::new("eth", 69), Capability::new("snap", 1)];
        let shared = match_capabilities(&ours, &theirs);
        assert_eq!(capability_for_id(&shared, 0x0f), None);
        assert_eq!(
            capability_for_id(&shared, 0x21).map(|(c, r)| (c.capability.name.as_str(), r)),
            Some(("eth", 17))
        );
        assert_eq!(
            capability_for_id(&shared, 0x22).map(|(c, r)| (c.capability.name.as_str(), r)),
            Some(("snap", 0))
        );
        assert_eq!(capability_for_id(&shared, 0x2a), None);
    }

    #[test]
    fn bad_names_are_refused() {
        for name in [&b""[..], b"ninechars", b"et h", b"\xffx"] {
            let mut s = rlp::RlpStream::new_list(2);
            s.append(&name);
            s.append(&1u32);
            assert_eq!(
                Capability::decode(&s.out()),
                Err(P2pError::BadCapabilityName),
                "{name:?}"
            );
        }
    }
}
