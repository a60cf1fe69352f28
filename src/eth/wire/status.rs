//! Status and BlockRangeUpdate (devp2p caps/eth.md "Status (0x00)" at its eth/68 and eth/69
//! revisions, "BlockRangeUpdate (0x11)"; EIP-7642; the fork id of EIP-2124).
//!
//! eth/68: `[version, networkid, td, blockhash, genesis, forkid]`
//! eth/69 and eth/70: `[version, networkid, genesis, forkid, earliest, latest, latestHash]`
//! with `forkid = [fork-hash: B_4, fork-next: P]`.
//!
//! Status has no request id. eth/69 dropped the total difficulty, which stopped meaning anything
//! at the Merge, and the head hash, and announces the range of full blocks the sender serves;
//! BlockRangeUpdate later moves that range. A range with `earliest > latest` is refused as
//! caps/eth.md asks.

use rlp::RlpStream;

use super::{EthError, EthVersion, Hash};
use crate::enr::ForkId;
use crate::rlp::cursor::{Item, trim_uint256};

/// The eth/68 Status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status68 {
    /// The sender's protocol version (68).
    pub version: u32,
    /// The network id (1 for mainnet); may differ from the EIP-155 chain id.
    pub network_id: u64,
    /// Total difficulty of the sender's head block, 256-bit big-endian; frozen since the Merge.
    pub td: [u8; 32],
    /// Hash of the sender's head block.
    pub head: Hash,
    /// Hash of the genesis block.
    pub genesis: Hash,
    /// The sender's EIP-2124 fork id.
    pub fork_id: ForkId,
}

/// The eth/69 Status, also used by eth/70.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status69 {
    /// The sender's protocol version (69 or 70).
    pub version: u32,
    /// The network id (1 for mainnet).
    pub network_id: u64,
    /// Hash of the genesis block.
    pub genesis: Hash,
    /// The sender's EIP-2124 fork id.
    pub fork_id: ForkId,
    /// Number of the earliest full block (body and receipts) the sender serves.
    pub earliest: u64,
    /// Number of the latest full block the sender serves.
    pub latest: u64,
    /// Hash of that latest block.
    pub latest_hash: Hash,
}

/// A Status message in the form of the version that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The eth/68 form.
    Eth68(Status68),
    /// The eth/69 form (eth/69 and eth/70).
    Eth69(Status69),
}

/// BlockRangeUpdate (eth/69 and later): `[earliest, latest, latestHash]`, no request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRangeUpdate {
    /// Number of the earliest full block served.
    pub earliest: u64,
    /// Number of the latest full block served.
    pub latest: u64,
    /// Hash of the latest block.
    pub latest_hash: Hash,
}

fn check_range(earliest: u64, latest: u64) -> Result<(), EthError> {
    if earliest > latest {
        return Err(EthError::InvalidBlockRange { earliest, latest });
    }
    Ok(())
}

fn decode_fork_id(item: Item<'_>) -> Result<ForkId, EthError> {
    let mut f = item.list("Status forkid")?;
    let hash = f.field("fork-hash")?.fixed::<4>("fork-hash")?;
    let next = f.field("fork-next")?.uint("fork-next")?;
    f.end("extra forkid fields")?;
    Ok(ForkId { hash, next })
}

fn append_fork_id(s: &mut RlpStream, fork_id: &ForkId) {
    s.begin_list(2);
    s.append(&fork_id.hash.as_slice());
    s.append(&fork_id.next);
}

fn decode_version(item: Item<'_>) -> Result<u32, EthError> {
    u32::try_from(item.uint("Status version")?).map_err(|_| EthError::malformed("Status version"))
}

impl Status {
    /// The protocol version the sender states.
    pub fn version(&self) -> u32 {
        match self {
            Status::Eth68(s) => s.version,
            Status::Eth69(s) => s.version,
        }
    }

    /// The network id.
    pub fn network_id(&self) -> u64 {
        match self {
            Status::Eth68(s) => s.network_id,
            Status::Eth69(s) => s.network_id,
        }
    }

    /// The genesis hash.
    pub fn genesis(&self) -> Hash {
        match self {
            Status::Eth68(s) => s.genesis,
            Status::Eth69(s) => s.genesis,
        }
    }

    /// The fork id.
    pub fn fork_id(&self) -> ForkId {
        match self {
            Status::Eth68(s) => s.fork_id,
            Status::Eth69(s) => s.fork_id,
        }
    }

    /// Decodes a Status payload item in the form `version` uses.
    pub(crate) fn decode(version: EthVersion, item: Item<'_>) -> Result<Status, EthError> {
        let mut f = item.list("Status is not a list")?;
        let vsn = decode_version(f.field("Status version")?)?;
        let network_id = f.field("Status networkid")?.uint("Status networkid")?;
        if !version.has_block_range() {
            let td = f.field("Status td")?.uint256("Status td")?;
            let head = f.field("Status blockhash")?.hash("Status blockhash")?;
            let genesis = f.field("Status genesis")?.hash("Status genesis")?;
            let fork_id = decode_fork_id(f.field("Status forkid")?)?;
            f.end("extra Status fields")?;
            return Ok(Status::Eth68(Status68 {
                version: vsn,
                network_id,
                td,
                head,
                genesis,
                fork_id,
            }));
        }
        let genesis = f.field("Status genesis")?.hash("Status genesis")?;
        let fork_id = decode_fork_id(f.field("Status forkid")?)?;
        let earliest = f.field("Status earliest")?.uint("Status earliest")?;
        let latest = f.field("Status latest")?.uint("Status latest")?;
        let latest_hash = f.field("Status latestHash")?.hash("Status latestHash")?;
        f.end("extra Status fields")?;
        check_range(earliest, latest)?;
        Ok(Status::Eth69(Status69 {
            version: vsn,
            network_id,
            genesis,
            fork_id,
            earliest,
            latest,
            latest_hash,
        }))
    }

    /// Encodes the payload; the form must be the one `version` uses.
    pub(crate) fn encode(&self, version: EthVersion) -> Result<Vec<u8>, EthError> {
        match (self, version.has_block_range()) {
            (Status::Eth68(s), false) => {
                let mut st = RlpStream::new_list(6);
                st.append(&s.version);
                st.append(&s.network_id);
                st.append(&trim_uint256(&s.td));
                st.append(&s.head.as_slice());
                st.append(&s.genesis.as_slice());
                append_fork_id(&mut st, &s.fork_id);
                Ok(st.out().to_vec())
            }
            (Status::Eth69(s), true) => {
                let mut st = RlpStream::new_list(7);
                st.append(&s.version);
                st.append(&s.network_id);
                st.append(&s.genesis.as_slice());
                append_fork_id(&mut st, &s.fork_id);
                st.append(&s.earliest);
                st.append(&s.latest);
                st.append(&s.latest_hash.as_slice());
                Ok(st.out().to_vec())
            }
            (Status::Eth68(_), true) => Err(EthError::WrongForm {
                what: "an eth/68 Status",
                version,
            }),
            (Status::Eth69(_), false) => Err(EthError::WrongForm {
                what: "an eth/69 Status",
                version,
            }),
        }
    }
}

impl BlockRangeUpdate {
    pub(crate) fn decode(item: Item<'_>) -> Result<Self, EthError> {
        let mut f = item.list("BlockRangeUpdate is not a list")?;
        let earliest = f
            .field("BlockRangeUpdate earliest")?
            .uint("BlockRangeUpdate earliest")?;
        let latest = f
            .field("BlockRangeUpdate latest")?
            .uint("BlockRangeUpdate latest")?;
        let latest_hash = f
            .field("BlockRangeUpdate latestHash")?
            .hash("BlockRangeUpdate latestHash")?;
        f.end("extra BlockRangeUpdate fields")?;
        check_range(earliest, latest)?;
        Ok(BlockRangeUpdate {
            earliest,
            latest,
            latest_hash,
        })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(3);
        s.append(&self.earliest);
        s.append(&self.latest);
        s.append(&self.latest_hash.as_slice());
        s.out().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eth::wire::top;

    fn status69() -> Status69 {
        Status69 {
            version: 69,
            network_id: 1,
            genesis: [0xd4; 32],
            fork_id: ForkId {
                hash: [0xfc, 0x64, 0xec, 0x04],
                next: 1_150_000,
            },
            earliest: 0,
            latest: 100,
            latest_hash: [0x11; 32],
        }
    }

    #[test]
    fn eth68_status_round_trips_with_a_large_td() {
        let mut td = [0u8; 32];
        td[20..].copy_from_slice(&[
            0x0c, 0x70, 0xd8, 0x15, 0xd5, 0x62, 0xd3, 0xcf, 0xa9, 0x55, 0, 0,
        ]);
        let s = Status::Eth68(Status68 {
            version: 68,
            network_id: 1,
            td,
            head: [0x22; 32],
            genesis: [0xd4; 32],
            fork_id: ForkId {
                hash: [1, 2, 3, 4],
                next: 0,
            },
        });
        let bytes = s.encode(EthVersion::Eth68).unwrap();
        assert_eq!(
            Status::decode(EthVersion::Eth68, top(&bytes).unwrap()),
            Ok(s)
        );
        // The same bytes are not an eth/69 Status.
        assert!(Status::decode(EthVersion::Eth69, top(&bytes).unwrap()).is_err());
    }

    #[test]
    fn eth69_status_round_trips_and_refuses_the_other_version() {
        let s = Status::Eth69(status69());
        for v in [EthVersion::Eth69, EthVersion::Eth70] {
            let bytes = s.encode(v).unwrap();
            assert_eq!(Status::decode(v, top(&bytes).unwrap()), Ok(s));
        }
        assert!(matches!(
            s.encode(EthVersion::Eth68),
            Err(EthError::WrongForm { .. })
        ));
    }

    #[test]
    fn inverted_range_is_refused() {
        let mut s = status69();
        s.earliest = 101;
        let bytes = Status::Eth69(s).encode(EthVersion::Eth69).unwrap();
        assert_eq!(
            Status::decode(EthVersion::Eth69, top(&bytes).unwrap()),
            Err(EthError::InvalidBlockRange {
                earliest: 101,
                latest: 100
            })
        );
        let update = BlockRangeUpdate {
            earliest: 7,
            latest: 6,
            latest_hash: [0; 32],
        };
        assert!(BlockRangeUpdate::decode(top(&update.encode()).unwrap()).is_err());
        let update = BlockRangeUpdate {
            latest: 7,
            ..update
        };
        assert_eq!(
            BlockRangeUpdate::decode(top(&update.encode()).unwrap()),
            Ok(update)
        );
    }

    #[test]
    fn fork_hash_must_be_four_bytes() {
        let mut st = RlpStream::new_list(7);
        st.append(&69u32)
            .append(&1u64)
            .append(&[0u8; 32].as_slice());
        st.begin_list(2)
            .append(&[1u8, 2, 3].as_slice())
            .append(&0u64);
        st.append(&0u64).append(&0u64).append(&[0u8; 32].as_slice());
        let bytes = st.out().to_vec();
        assert_eq!(
            Status::decode(EthVersion::Eth69, top(&bytes).unwrap()),
            Err(EthError::malformed("fork-hash"))
        );
    }
}
