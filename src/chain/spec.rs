//! The chain a node runs with: [`ChainSpec`] gathers the network id and chain id, the genesis
//! header and hash, the EIP-2124 fork schedule and the bootnodes, either from a built-in network
//! ([`crate::chain::networks`]) or from a go-ethereum `genesis.json` ([`Genesis`]).
//!
//! It answers what the wire needs: our fork id for the eth `Status` message and the ENR `eth`
//! entry (enr-entries/eth.md), and whether a remote fork id is compatible with our chain
//! (EIP-2124 "Validation rules"), so that discovery candidates on another chain are not dialed.

use std::fmt;

use crate::chain::forkid::{ForkId, ForkIdError, ForkSchedule};
use crate::chain::genesis::{BlobParams, Genesis};
use crate::chain::header::{Header, U256};
use crate::chain::networks::{self, Network};
use crate::enode::Enode;
use crate::enr::Record;

/// The name given to a chain read from a genesis file that is not one of the built-in networks.
pub const CUSTOM_NAME: &str = "custom";

/// Why a genesis file does not make a usable chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// Neither a network id was given nor does the genesis `config` carry a chain id to default
    /// it to (network id 0 is not a network anyone could join on purpose).
    NoNetworkId,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::NoNetworkId => write!(
                f,
                "the genesis has no chainId and no network id was given: set --networkid"
            ),
        }
    }
}

impl std::error::Error for SpecError {}

/// Everything about the chain that the networking layer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    /// `mainnet`, `sepolia`, `holesky`, `hoodi`, or [`CUSTOM_NAME`].
    pub name: String,
    /// The id in the eth `Status` message.
    pub network_id: u64,
    /// The EIP-155 chain id (0 when a genesis file does not say).
    pub chain_id: u64,
    /// The genesis block header; its difficulty is the genesis total difficulty.
    pub genesis_header: Header,
    /// keccak-256 of the genesis header.
    pub genesis_hash: [u8; 32],
    /// The forks that make up the EIP-2124 fork id.
    pub fork_schedule: ForkSchedule,
    /// Nodes to start discovery from.
    pub bootnodes: Vec<Enode>,
    /// Records to start discovery v5 from.
    pub bootnodes_v5: Vec<Record>,
    /// Total difficulty of the switch to proof of stake, when the chain configures one.
    pub terminal_total_difficulty: Option<U256>,
    /// The time-based forks by name (`shanghai`, `cancun`, `prague`, `osaka`, `bpo1`, …) and
    /// activation timestamp, in activation order: what a node that does not follow the head
    /// reads the current rules from.
    pub time_forks: Vec<(String, u64)>,
    /// The genesis file's blob parameters by fork name (EIP-7840); forks it does not name take
    /// [`blob_fee::default_params`](super::blob_fee::default_params).
    pub blob_schedule: Vec<(String, BlobParams)>,
}

impl ChainSpec {
    /// The names [`ChainSpec::builtin`] knows, mainnet (the default, as in go-ethereum) first.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        networks::NETWORKS.into_iter().map(|n| n.name)
    }

    /// The built-in network called `name` (`mainnet`, `sepolia`, `holesky` or `hoodi`).
    pub fn builtin(name: &str) -> Option<ChainSpec> {
        networks::by_name(name).map(ChainSpec::from_network)
    }

    /// Mainnet, the chain a node runs when told nothing else.
    pub fn mainnet() -> ChainSpec {
        ChainSpec::from_network(&networks::MAINNET)
    }

    /// The spec of a built-in network.
    pub fn from_network(network: &Network) -> ChainSpec {
        let genesis_header = network.genesis.header();
        let fork_schedule = ForkSchedule::new(
            network.genesis_hash,
            genesis_header.timestamp,
            network.block_forks.iter().map(|(_, b)| *b),
            network.time_forks.iter().map(|(_, t)| *t),
        );
        ChainSpec {
            name: network.name.to_string(),
            network_id: network.network_id,
            chain_id: network.chain_id,
            genesis_header,
            genesis_hash: network.genesis_hash,
            fork_schedule,
            // The URLs are compiled in and every one is checked to parse by tests/networks.rs.
            bootnodes: network
                .bootnodes
                .iter()
                .filter_map(|url| url.parse().ok())
                .collect(),
            // Compiled in too, each checked to parse and verify by tests/networks.rs.
            bootnodes_v5: network
                .bootnodes_v5
                .iter()
                .filter_map(|text| Record::from_text(text).ok())
                .collect(),
            terminal_total_difficulty: U256::from_be_slice(
                &network.terminal_total_difficulty.to_be_bytes(),
            ),
            time_forks: sorted_forks(network.time_forks.iter().map(|(n, t)| (n.to_string(), *t))),
            blob_schedule: Vec::new(),
        }
    }

    /// The spec of the chain a genesis file describes. `network_id` is `--networkid`; without it
    /// the network id is the chain id, as go-ethereum has done since v1.13.5 (PR #28250). A
    /// genesis that is one of the built-in networks' (same genesis hash) takes that network's
    /// name and bootnodes; any other starts with no bootnodes.
    pub fn from_genesis(
        genesis: &Genesis,
        network_id: Option<u64>,
    ) -> Result<ChainSpec, SpecError> {
        let chain_id = genesis.config.chain_id;
        let network_id = match network_id {
            Some(id) => id,
            None if chain_id != 0 => chain_id,
            None => return Err(SpecError::NoNetworkId),
        };
        let genesis_header = genesis.header();
        let genesis_hash = genesis_header.hash();
        let fork_schedule = genesis
            .config
            .fork_schedule(genesis_hash, genesis_header.timestamp);
        let known = networks::NETWORKS
            .into_iter()
            .find(|n| n.genesis_hash == genesis_hash);
        let (name, bootnodes, bootnodes_v5) = match known {
            Some(n) => {
                let spec = ChainSpec::from_network(n);
                (n.name, spec.bootnodes, spec.bootnodes_v5)
            }
            None => (CUSTOM_NAME, Vec::new(), Vec::new()),
        };
        Ok(ChainSpec {
            name: name.to_string(),
            network_id,
            chain_id,
            genesis_header,
            genesis_hash,
            fork_schedule,
            bootnodes,
            bootnodes_v5,
            terminal_total_difficulty: genesis.config.terminal_total_difficulty,
            // geth's JSON names them `shanghaiTime`, …; the built-in tables `shanghai`, ….
            time_forks: sorted_forks(
                genesis
                    .config
                    .time_forks
                    .iter()
                    .map(|(n, t)| (n.strip_suffix("Time").unwrap_or(n).to_string(), *t)),
            ),
            blob_schedule: genesis.config.blob_schedule.clone(),
        })
    }

    /// Our fork id with the chain head at block `head_number`, timestamp `head_time`: what the
    /// eth `Status` message carries.
    pub fn fork_id(&self, head_number: u64, head_time: u64) -> ForkId {
        self.fork_schedule.fork_id(head_number, head_time)
    }

    /// The fork id for our ENR `eth` entry (`enr::Builder::eth`). It is the `Status` fork id; a
    /// separate name so callers state which use they mean, as go-ethereum derives both from the
    /// current head.
    pub fn enr_eth_entry(&self, head_number: u64, head_time: u64) -> ForkId {
        self.fork_id(head_number, head_time)
    }

    /// Checks a remote fork id (from its `Status` or its ENR `eth` entry) against our chain with
    /// the head at `head_number`, `head_time`, saying why it is refused.
    pub fn validate(
        &self,
        remote: ForkId,
        head_number: u64,
        head_time: u64,
    ) -> Result<(), ForkIdError> {
        self.fork_schedule.validate(remote, head_number, head_time)
    }

    /// A predicate for discovery candidates: true when a remote fork id (from the candidate's
    /// ENR `eth` entry) is compatible with our chain at the given head. The predicate owns a copy
    /// of the schedule, so it can move into the dialer. What to do with a candidate whose record
    /// has no `eth` entry is the caller's choice.
    pub fn fork_filter(
        &self,
        head_number: u64,
        head_time: u64,
    ) -> impl Fn(&ForkId) -> bool + Send + Sync + 'static {
        let schedule = self.fork_schedule.clone();
        move |remote| schedule.validate(*remote, head_number, head_time).is_ok()
    }
}

fn sorted_forks(forks: impl Iterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = forks.collect();
    v.sort_by_key(|(_, t)| *t);
    v
}

impl ChainSpec {
    /// The blob parameters in force at unix time `time`: those of the newest active time fork
    /// that has any (from the genesis file's schedule, else the EIPs'); `None` before Cancun.
    pub fn blob_params_at(&self, time: u64) -> Option<BlobParams> {
        self.time_forks
            .iter()
            .rev()
            .filter(|(_, t)| *t <= time)
            .find_map(|(name, _)| {
                self.blob_schedule
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, p)| *p)
                    .or_else(|| super::blob_fee::default_params(name))
            })
    }

    /// The newest time fork active at unix time `time`, by name.
    pub fn time_fork_at(&self, time: u64) -> Option<&str> {
        self.time_forks
            .iter()
            .rev()
            .find(|(_, t)| *t <= time)
            .map(|(n, _)| n.as_str())
    }
}

impl Default for ChainSpec {
    /// Mainnet, as go-ethereum defaults to.
    fn default() -> Self {
        ChainSpec::mainnet()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUSTOM_GENESIS: &str = r#"{"config": {"chainId": 4242, "londonBlock": 0,
        "shanghaiTime": 10, "cancunTime": 20}, "timestamp": "0x5", "alloc": {}}"#;

    #[test]
    fn builtin_knows_exactly_the_four_networks() {
        let names: Vec<_> = ChainSpec::builtin_names().collect();
        assert_eq!(names, ["mainnet", "sepolia", "holesky", "hoodi"]);
        for name in names {
            let spec = ChainSpec::builtin(name).expect(name);
            assert_eq!(spec.name, name);
            assert!(!spec.bootnodes.is_empty(), "{name} has no bootnodes");
            assert_eq!(
                spec.bootnodes_v5.len(),
                networks::V5_BOOTNODES.len(),
                "{name}: a v5 bootnode did not parse"
            );
        }
        assert!(ChainSpec::builtin("goerli").is_none());
        assert!(ChainSpec::builtin("Mainnet").is_none());
        assert_eq!(ChainSpec::default(), ChainSpec::builtin("mainnet").unwrap());
    }

    #[test]
    fn custom_genesis_network_id_defaults_to_chain_id() {
        let genesis = Genesis::from_json(CUSTOM_GENESIS).unwrap();
        let spec = ChainSpec::from_genesis(&genesis, None).unwrap();
        assert_eq!(spec.name, CUSTOM_NAME);
        assert_eq!((spec.network_id, spec.chain_id), (4242, 4242));
        assert!(spec.bootnodes.is_empty());
        assert!(spec.bootnodes_v5.is_empty());
        assert_eq!(spec.genesis_hash, genesis.hash());
        let given = ChainSpec::from_genesis(&genesis, Some(7)).unwrap();
        assert_eq!((given.network_id, given.chain_id), (7, 4242));
    }

    #[test]
    fn custom_genesis_forks_drive_the_fork_id() {
        let genesis = Genesis::from_json(CUSTOM_GENESIS).unwrap();
        let spec = ChainSpec::from_genesis(&genesis, None).unwrap();
        assert_eq!(spec.fork_id(0, 5).next, 10);
        assert_eq!(spec.fork_id(1, 10).next, 20);
        assert_eq!(spec.fork_id(2, 20).next, 0);
        assert_eq!(spec.enr_eth_entry(2, 20), spec.fork_id(2, 20));
        let filter = spec.fork_filter(2, 20);
        assert!(filter(&spec.fork_id(2, 20)));
        assert!(
            filter(&spec.fork_id(1, 10)),
            "a remote behind with the right next is fine"
        );
        assert!(!filter(&ForkId {
            hash: [0; 4],
            next: 0
        }));
    }

    #[test]
    fn genesis_without_chain_id_needs_a_network_id() {
        let genesis = Genesis::from_json(r#"{"config": {}, "alloc": {}}"#).unwrap();
        assert_eq!(
            ChainSpec::from_genesis(&genesis, None),
            Err(SpecError::NoNetworkId)
        );
        assert_eq!(
            ChainSpec::from_genesis(&genesis, Some(9))
                .unwrap()
                .network_id,
            9
        );
    }
}
