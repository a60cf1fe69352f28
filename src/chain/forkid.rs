//! EIP-2124 fork identifiers: the [`ForkId`] a node announces in its eth `Status` message and
//! ENR `eth` entry, the [`ForkSchedule`] it is computed from, and the rules that decide whether a
//! remote fork id is compatible with ours.
//!
//! `FORK_HASH` is the IEEE CRC32 of the genesis hash, updated with each passed fork as an 8-byte
//! big-endian number; `FORK_NEXT` is the first fork not yet passed, or 0. Forks are the block
//! numbers of the block-activated forks (sorted, deduplicated, those at block 0 dropped) followed
//! by the timestamps of the time-activated forks (the same, dropping those at or before the
//! genesis time). The total-difficulty transition (the Merge) is not a fork here; a configured
//! `mergeNetsplitBlock` is.

use std::fmt;

use rlp::{Decodable, DecoderError, Encodable, Rlp, RlpStream};

/// A remote `FORK_NEXT` above this is taken for a timestamp, not a block number, when checking
/// whether we already passed it. It is the timestamp of mainnet's first block after genesis; no
/// block-number fork will reach it. go-ethereum uses the same split so that fork ids validate
/// across the switch from block-activated to time-activated forks (fixtures README trap 12).
pub const TIMESTAMP_THRESHOLD: u64 = 1_438_269_973;

/// An EIP-2124 fork identifier. RLP: `[fork-hash, fork-next]`, the hash a 4-byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForkId {
    /// CRC32 of the genesis hash and the fork blocks/timestamps passed so far.
    pub hash: [u8; 4],
    /// The next scheduled fork (block number or timestamp), 0 when none is known.
    pub next: u64,
}

impl Encodable for ForkId {
    fn rlp_append(&self, s: &mut RlpStream) {
        s.begin_list(2);
        s.append(&self.hash.as_slice());
        s.append(&self.next);
    }
}

impl Decodable for ForkId {
    /// Exactly `[4-byte string, integer]`, as the eth `Status` message carries it. (The ENR `eth`
    /// entry, which must tolerate extra elements, is read leniently by `enr::Record::eth`.)
    fn decode(rlp: &Rlp<'_>) -> Result<Self, DecoderError> {
        if rlp.item_count()? != 2 {
            return Err(DecoderError::RlpIncorrectListLen);
        }
        let hash_item = rlp.at(0)?;
        if !hash_item.is_data() {
            return Err(DecoderError::RlpExpectedToBeData);
        }
        let hash = hash_item
            .data()?
            .try_into()
            .map_err(|_| DecoderError::Custom("fork-hash is not 4 bytes"))?;
        let next_item = rlp.at(1)?;
        if !next_item.is_data() {
            return Err(DecoderError::RlpExpectedToBeData);
        }
        Ok(ForkId {
            hash,
            next: next_item.as_val()?,
        })
    }
}

/// Why a remote fork id was refused (EIP-2124 "Validation rules").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkIdError {
    /// The remote is on an earlier fork of our chain and does not know the fork that followed it:
    /// it needs a software update (rule 2).
    RemoteStale,
    /// The remote is on a chain we do not know, or it announces a fork we have already passed
    /// without taking it (rules 1a and 4).
    LocalIncompatibleOrStale,
}

impl fmt::Display for ForkIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForkIdError::RemoteStale => write!(f, "remote fork id is stale (needs an update)"),
            ForkIdError::LocalIncompatibleOrStale => {
                write!(
                    f,
                    "remote fork id is incompatible with the local chain, or we are stale"
                )
            }
        }
    }
}

impl std::error::Error for ForkIdError {}

/// A chain's fork schedule: its genesis hash and the forks that enter the fork id, with the
/// checksum after each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkSchedule {
    block_forks: Vec<u64>,
    time_forks: Vec<u64>,
    /// `sums[i]` is the fork hash once the first `i` forks (block forks, then time forks) have
    /// passed; `sums[0]` is the CRC32 of the genesis hash.
    sums: Vec<[u8; 4]>,
}

impl ForkSchedule {
    /// The schedule of a chain from its fork activation points, in any order and with duplicates
    /// and genesis-time forks allowed: block forks at 0 and time forks at or before
    /// `genesis_time` are part of the genesis rules, so they are dropped.
    pub fn new(
        genesis_hash: [u8; 32],
        genesis_time: u64,
        block_forks: impl IntoIterator<Item = u64>,
        time_forks: impl IntoIterator<Item = u64>,
    ) -> Self {
        let mut block_forks: Vec<u64> = block_forks.into_iter().filter(|&b| b > 0).collect();
        block_forks.sort_unstable();
        block_forks.dedup();
        let mut time_forks: Vec<u64> = time_forks
            .into_iter()
            .filter(|&t| t > genesis_time)
            .collect();
        time_forks.sort_unstable();
        time_forks.dedup();
        let mut crc = crc32(0, &genesis_hash);
        let mut sums = vec![crc.to_be_bytes()];
        for fork in block_forks.iter().chain(&time_forks) {
            crc = crc32(crc, &fork.to_be_bytes());
            sums.push(crc.to_be_bytes());
        }
        ForkSchedule {
            block_forks,
            time_forks,
            sums,
        }
    }

    /// The block forks after genesis, ascending.
    pub fn block_forks(&self) -> &[u64] {
        &self.block_forks
    }

    /// The time forks after the genesis time, ascending.
    pub fn time_forks(&self) -> &[u64] {
        &self.time_forks
    }

    /// Each fork with the head coordinate it is compared against (the head's number for a block
    /// fork, its timestamp for a time fork), in schedule order.
    fn forks(&self, head_number: u64, head_time: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let blocks = self.block_forks.iter().map(move |&f| (f, head_number));
        let times = self.time_forks.iter().map(move |&f| (f, head_time));
        blocks.chain(times)
    }

    fn sum(&self, passed: usize) -> [u8; 4] {
        self.sums.get(passed).copied().unwrap_or_default()
    }

    /// Our fork id with the chain head at `head_number`, `head_time`.
    pub fn fork_id(&self, head_number: u64, head_time: u64) -> ForkId {
        for (i, (fork, head)) in self.forks(head_number, head_time).enumerate() {
            if head < fork {
                return ForkId {
                    hash: self.sum(i),
                    next: fork,
                };
            }
        }
        ForkId {
            hash: self.sum(self.sums.len() - 1),
            next: 0,
        }
    }

    /// Checks a remote fork id against our chain with its head at `head_number`, `head_time`
    /// (EIP-2124 "Validation rules"):
    ///
    /// 1. Same fork hash as our current state: accept, unless the remote announces a next fork
    ///    that we have already passed (then one of us is on a chain the other rejected).
    /// 2. The hash of one of our past states: accept only if its next fork is the one that
    ///    followed that state here, else the remote is stale.
    /// 3. The hash of one of our future states: accept (we are behind).
    /// 4. Anything else: reject.
    pub fn validate(
        &self,
        remote: ForkId,
        head_number: u64,
        head_time: u64,
    ) -> Result<(), ForkIdError> {
        let forks: Vec<u64> = self.forks(0, 0).map(|(fork, _)| fork).collect();
        // Our current state: the first fork not yet passed, or the state after the last one.
        let current = self
            .forks(head_number, head_time)
            .position(|(fork, head)| head < fork)
            .unwrap_or(forks.len());
        if self.sum(current) == remote.hash {
            // Rule 1a: the remote's next fork, a block number below the threshold (whatever
            // kind of fork we are at) or a timestamp above it, already passed here.
            let passed = head_number >= remote.next
                || (remote.next > TIMESTAMP_THRESHOLD && head_time >= remote.next);
            return if remote.next > 0 && passed {
                Err(ForkIdError::LocalIncompatibleOrStale)
            } else {
                Ok(())
            };
        }
        if let Some(j) = self
            .sums
            .iter()
            .take(current)
            .position(|s| *s == remote.hash)
        {
            return if forks.get(j) == Some(&remote.next) {
                Ok(())
            } else {
                Err(ForkIdError::RemoteStale)
            };
        }
        if self
            .sums
            .iter()
            .skip(current + 1)
            .any(|s| *s == remote.hash)
        {
            return Ok(());
        }
        Err(ForkIdError::LocalIncompatibleOrStale)
    }
}

/// The IEEE 802.3 CRC32 lookup table (reflected polynomial 0xedb88320), built at compile time.
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// IEEE CRC32 of `data`, continuing from the checksum `crc` of earlier data (0 to start), so
/// that `crc32(crc32(0, a), b) == crc32(0, a || b)`. None of our dependencies provides the IEEE
/// polynomial (snap uses CRC32C), and the table is a dozen lines.
pub fn crc32(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = CRC32_TABLE[usize::from(c as u8 ^ b)] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The catalogue check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(0, b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(crc32(0, b"1234"), b"56789"), 0xcbf4_3926);
        assert_eq!(crc32(0, b""), 0);
    }

    #[test]
    fn schedule_drops_genesis_forks_and_duplicates() {
        let s = ForkSchedule::new([7; 32], 100, [0, 5, 5, 3, 0], [100, 90, 200, 150, 200]);
        assert_eq!(s.block_forks(), [3, 5]);
        assert_eq!(s.time_forks(), [150, 200]);
        assert_eq!(s.fork_id(0, 100).next, 3);
        assert_eq!(s.fork_id(4, 100).next, 5);
        assert_eq!(s.fork_id(5, 149).next, 150);
        assert_eq!(s.fork_id(5, 150).next, 200);
        let end = s.fork_id(5, 200);
        assert_eq!(end.next, 0);
        let mut crc = crc32(0, &[7; 32]);
        for f in [3u64, 5, 150, 200] {
            crc = crc32(crc, &f.to_be_bytes());
        }
        assert_eq!(end.hash, crc.to_be_bytes());
    }

    #[test]
    fn schedule_without_forks_is_the_genesis_checksum() {
        let s = ForkSchedule::new([1; 32], 0, [], []);
        let id = s.fork_id(u64::MAX, u64::MAX);
        assert_eq!(id.hash, crc32(0, &[1; 32]).to_be_bytes());
        assert_eq!(id.next, 0);
        assert_eq!(s.validate(id, u64::MAX, u64::MAX), Ok(()));
        let other = ForkId {
            hash: [0; 4],
            next: 0,
        };
        assert_eq!(
            s.validate(other, 0, 0),
            Err(ForkIdError::LocalIncompatibleOrStale)
        );
    }

    #[test]
    fn remote_next_above_the_threshold_is_a_timestamp() {
        // Local is before its block fork 10; the remote shares our state and announces a fork
        // at a timestamp that our head's time has passed: one of us skipped a fork.
        let s = ForkSchedule::new([3; 32], 0, [10], [1_700_000_000]);
        let genesis = s.fork_id(5, 1_650_000_000);
        assert_eq!(genesis.next, 10);
        let remote = ForkId {
            hash: genesis.hash,
            next: 1_600_000_000,
        };
        assert_eq!(
            s.validate(remote, 5, 1_650_000_000),
            Err(ForkIdError::LocalIncompatibleOrStale)
        );
        // Not yet passed in time: accepted.
        assert_eq!(s.validate(remote, 5, 1_599_999_999), Ok(()));
        // At or below the threshold the same number is a block number, compared with the head.
        let block_next = ForkId {
            hash: genesis.hash,
            next: TIMESTAMP_THRESHOLD,
        };
        assert_eq!(s.validate(block_next, 5, u64::MAX - 1), Ok(()));
    }

    /// Found by the eth_manager fuzz target: past the block forks, with a time fork next, a
    /// remote sharing our state and naming a block number as its next fork is compared with our
    /// head's number (go-ethereum's rule 1a), not with its time.
    #[test]
    fn a_block_number_next_is_compared_with_the_head_number_in_the_time_fork_era() {
        let s = ForkSchedule::new([3; 32], 0, [10], [1_700_000_000]);
        let ours = s.fork_id(2_000, 1_650_000_000);
        assert_eq!(
            ours.next, 1_700_000_000,
            "past block 10, Shanghai-like fork next"
        );
        let remote = ForkId {
            hash: ours.hash,
            next: 1_500,
        };
        assert_eq!(
            s.validate(remote, 2_000, 1_650_000_000),
            Err(ForkIdError::LocalIncompatibleOrStale)
        );
        assert_eq!(s.validate(remote, 1_499, 1_650_000_000), Ok(()));
    }

    #[test]
    fn fork_id_rlp_round_trips_and_is_strict() {
        let id = ForkId {
            hash: [0, 0, 1, 2],
            next: 77,
        };
        let bytes = rlp::encode(&id);
        assert_eq!(rlp::decode::<ForkId>(&bytes), Ok(id));
        // A 3-byte hash, a third element, and a list for next are all refused.
        for bad in [
            &[0xc5, 0x83, 1, 2, 3, 0x4d][..],
            &[0xc7, 0x84, 0, 0, 1, 2, 0x4d, 0x01],
            &[0xc7, 0x84, 0, 0, 1, 2, 0xc1, 0x01],
        ] {
            assert!(rlp::decode::<ForkId>(bad).is_err(), "{bad:02x?}");
        }
    }
}
