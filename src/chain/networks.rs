//! The public networks built into the binary — mainnet, Sepolia, Holesky and Hoodi — as plain
//! data: network and chain ids, the genesis header fields and hash, the named fork activations
//! (EIP-2124 fork ids are computed from them), the terminal total difficulty, the deposit
//! contract, the bootnodes (enode URLs for discovery v4, and [`V5_BOOTNODES`], the node records
//! every built-in network gives discovery v5) and the EIP-1459 DNS discovery tree.
//!
//! The values are public network parameters from go-ethereum `params/config.go` (chain configs),
//! `params/bootnodes.go` (bootnodes, DNS trees) and `core/genesis.go` (genesis blocks), as
//! transcribed in `fixtures/networks.json`; this file was generated once from that JSON with a
//! throwaway script and is kept by hand since. The genesis allocations are left out: the header
//! fields below (including the state root) are enough to build the genesis header and its hash,
//! which `tests/networks.rs` checks against the known genesis hashes. Fork schedules change as
//! upgrades are scheduled: re-check upstream before relying on future timestamps.

use crate::chain::header::{Header, U256};

/// Discovery v5's bootnodes: go-ethereum's `params/bootnodes.go` `V5Bootnodes` (at commit
/// 02b73d4ea7181464175e0a6cbecc0a3a2655a562), the consensus-layer teams' public bootnodes
/// (Teku, Prysm, Lighthouse, the EF, Nimbus). go-ethereum starts discovery v5 from this one list
/// whichever network it runs, and so does every built-in network here; a custom genesis gets
/// none. Each must parse as a signed record with an IPv4 UDP endpoint (`tests/networks.rs`).
/// Never used by a test: every node a test starts gets `--bootnodes ""`.
pub const V5_BOOTNODES: &[&str] = &[
    "enr:-KG4QMOEswP62yzDjSwWS4YEjtTZ5PO6r65CPqYBkgTTkrpaedQ8uEUo1uMALtJIvb2w_WWEVmg5yt1UAuK1ftxUU7QDhGV0aDKQu6TalgMAAAD__________4JpZIJ2NIJpcIQEnfA2iXNlY3AyNTZrMaEDfol8oLr6XJ7FsdAYE7lpJhKMls4G_v6qQOGKJUWGb_uDdGNwgiMog3VkcIIjKA",
    "enr:-KG4QF4B5WrlFcRhUU6dZETwY5ZzAXnA0vGC__L1Kdw602nDZwXSTs5RFXFIFUnbQJmhNGVU6OIX7KVrCSTODsz1tK4DhGV0aDKQu6TalgMAAAD__________4JpZIJ2NIJpcIQExNYEiXNlY3AyNTZrMaECQmM9vp7KhaXhI-nqL_R0ovULLCFSFTa9CPPSdb1zPX6DdGNwgiMog3VkcIIjKA",
    "enr:-Ku4QImhMc1z8yCiNJ1TyUxdcfNucje3BGwEHzodEZUan8PherEo4sF7pPHPSIB1NNuSg5fZy7qFsjmUKs2ea1Whi0EBh2F0dG5ldHOIAAAAAAAAAACEZXRoMpD1pf1CAAAAAP__________gmlkgnY0gmlwhBLf22SJc2VjcDI1NmsxoQOVphkDqal4QzPMksc5wnpuC3gvSC8AfbFOnZY_On34wIN1ZHCCIyg",
    "enr:-Ku4QP2xDnEtUXIjzJ_DhlCRN9SN99RYQPJL92TMlSv7U5C1YnYLjwOQHgZIUXw6c-BvRg2Yc2QsZxxoS_pPRVe0yK8Bh2F0dG5ldHOIAAAAAAAAAACEZXRoMpD1pf1CAAAAAP__________gmlkgnY0gmlwhBLf22SJc2VjcDI1NmsxoQMeFF5GrS7UZpAH2Ly84aLK-TyvH-dRo0JM1i8yygH50YN1ZHCCJxA",
    "enr:-Ku4QPp9z1W4tAO8Ber_NQierYaOStqhDqQdOPY3bB3jDgkjcbk6YrEnVYIiCBbTxuar3CzS528d2iE7TdJsrL-dEKoBh2F0dG5ldHOIAAAAAAAAAACEZXRoMpD1pf1CAAAAAP__________gmlkgnY0gmlwhBLf22SJc2VjcDI1NmsxoQMw5fqqkw2hHC4F5HZZDPsNmPdB1Gi8JPQK7pRc9XHh-oN1ZHCCKvg",
    "enr:-Le4QPUXJS2BTORXxyx2Ia-9ae4YqA_JWX3ssj4E_J-3z1A-HmFGrU8BpvpqhNabayXeOZ2Nq_sbeDgtzMJpLLnXFgAChGV0aDKQtTA_KgEAAAAAIgEAAAAAAIJpZIJ2NIJpcISsaa0Zg2lwNpAkAIkHAAAAAPA8kv_-awoTiXNlY3AyNTZrMaEDHAD2JKYevx89W0CcFJFiskdcEzkH_Wdv9iW42qLK79ODdWRwgiMohHVkcDaCI4I",
    "enr:-Le4QLHZDSvkLfqgEo8IWGG96h6mxwe_PsggC20CL3neLBjfXLGAQFOPSltZ7oP6ol54OvaNqO02Rnvb8YmDR274uq8ChGV0aDKQtTA_KgEAAAAAIgEAAAAAAIJpZIJ2NIJpcISLosQxg2lwNpAqAX4AAAAAAPA8kv_-ax65iXNlY3AyNTZrMaEDBJj7_dLFACaxBfaI8KZTh_SSJUjhyAyfshimvSqo22WDdWRwgiMohHVkcDaCI4I",
    "enr:-Le4QH6LQrusDbAHPjU_HcKOuMeXfdEB5NJyXgHWFadfHgiySqeDyusQMvfphdYWOzuSZO9Uq2AMRJR5O4ip7OvVma8BhGV0aDKQtTA_KgEAAAAAIgEAAAAAAIJpZIJ2NIJpcISLY9ncg2lwNpAkAh8AgQIBAAAAAAAAAAmXiXNlY3AyNTZrMaECDYCZTZEksF-kmgPholqgVt8IXr-8L7Nu7YrZ7HUpgxmDdWRwgiMohHVkcDaCI4I",
    "enr:-Le4QIqLuWybHNONr933Lk0dcMmAB5WgvGKRyDihy1wHDIVlNuuztX62W51voT4I8qD34GcTEOTmag1bcdZ_8aaT4NUBhGV0aDKQtTA_KgEAAAAAIgEAAAAAAIJpZIJ2NIJpcISLY04ng2lwNpAkAh8AgAIBAAAAAAAAAA-fiXNlY3AyNTZrMaEDscnRV6n1m-D9ID5UsURk0jsoKNXt1TIrj8uKOGW6iluDdWRwgiMohHVkcDaCI4I",
    "enr:-Ku4QHqVeJ8PPICcWk1vSn_XcSkjOkNiTg6Fmii5j6vUQgvzMc9L1goFnLKgXqBJspJjIsB91LTOleFmyWWrFVATGngBh2F0dG5ldHOIAAAAAAAAAACEZXRoMpC1MD8qAAAAAP__________gmlkgnY0gmlwhAMRHkWJc2VjcDI1NmsxoQKLVXFOhp2uX6jeT0DvvDpPcU8FWMjQdR4wMuORMhpX24N1ZHCCIyg",
    "enr:-Ku4QG-2_Md3sZIAUebGYT6g0SMskIml77l6yR-M_JXc-UdNHCmHQeOiMLbylPejyJsdAPsTHJyjJB2sYGDLe0dn8uYBh2F0dG5ldHOIAAAAAAAAAACEZXRoMpC1MD8qAAAAAP__________gmlkgnY0gmlwhBLY-NyJc2VjcDI1NmsxoQORcM6e19T1T9gi7jxEZjk_sjVLGFscUNqAY9obgZaxbIN1ZHCCIyg",
    "enr:-Ku4QPn5eVhcoF1opaFEvg1b6JNFD2rqVkHQ8HApOKK61OIcIXD127bKWgAtbwI7pnxx6cDyk_nI88TrZKQaGMZj0q0Bh2F0dG5ldHOIAAAAAAAAAACEZXRoMpC1MD8qAAAAAP__________gmlkgnY0gmlwhDayLMaJc2VjcDI1NmsxoQK2sBOLGcUb4AwuYzFuAVCaNHA-dy24UuEKkeFNgCVCsIN1ZHCCIyg",
    "enr:-Ku4QEWzdnVtXc2Q0ZVigfCGggOVB2Vc1ZCPEc6j21NIFLODSJbvNaef1g4PxhPwl_3kax86YPheFUSLXPRs98vvYsoBh2F0dG5ldHOIAAAAAAAAAACEZXRoMpC1MD8qAAAAAP__________gmlkgnY0gmlwhDZBrP2Jc2VjcDI1NmsxoQM6jr8Rb1ktLEsVcKAPa08wCsKUmvoQ8khiOl_SLozf9IN1ZHCCIyg",
    "enr:-LK4QA8FfhaAjlb_BXsXxSfiysR7R52Nhi9JBt4F8SPssu8hdE1BXQQEtVDC3qStCW60LSO7hEsVHv5zm8_6Vnjhcn0Bh2F0dG5ldHOIAAAAAAAAAACEZXRoMpC1MD8qAAAAAP__________gmlkgnY0gmlwhAN4aBKJc2VjcDI1NmsxoQJerDhsJ-KxZ8sHySMOCmTO6sHM3iCFQ6VMvLTe948MyYN0Y3CCI4yDdWRwgiOM",
    "enr:-LK4QKWrXTpV9T78hNG6s8AM6IO4XH9kFT91uZtFg1GcsJ6dKovDOr1jtAAFPnS2lvNltkOGA9k29BUN7lFh_sjuc9QBh2F0dG5ldHOIAAAAAAAAAACEZXRoMpC1MD8qAAAAAP__________gmlkgnY0gmlwhANAdd-Jc2VjcDI1NmsxoQLQa6ai7y9PMN5hpLe5HmiJSlYzMuzP7ZhwRiwHvqNXdoN0Y3CCI4yDdWRwgiOM",
];

/// A built-in network.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    /// The name `--network` takes.
    pub name: &'static str,
    /// The id in the eth `Status` message.
    pub network_id: u64,
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// keccak-256 of the genesis header.
    pub genesis_hash: [u8; 32],
    /// The genesis header fields.
    pub genesis: GenesisHeader,
    /// Block-activated forks by go-ethereum config name (without the `Block` suffix); those at
    /// block 0 are part of the genesis rules and do not enter the fork id.
    pub block_forks: &'static [(&'static str, u64)],
    /// Time-activated forks (UNIX seconds) by config name (without the `Time` suffix); those at
    /// or before the genesis time do not enter the fork id.
    pub time_forks: &'static [(&'static str, u64)],
    /// Total difficulty at which the chain switched to proof of stake (the Merge); not a fork in
    /// the EIP-2124 sense.
    pub terminal_total_difficulty: u128,
    /// The beacon-chain deposit contract.
    pub deposit_contract: [u8; 20],
    /// go-ethereum's bootnodes for the network, as enode URLs.
    pub bootnodes: &'static [&'static str],
    /// Discovery v5's bootnodes, as `enr:` records.
    pub bootnodes_v5: &'static [&'static str],
    /// The EIP-1459 node list go-ethereum uses for the network.
    pub dns_discovery: &'static str,
}

/// The fields of a genesis header. The ones every genesis shares (number 0, no gas used, an
/// empty logs bloom) are filled in by [`GenesisHeader::header`]; the fork-dependent fields are
/// `None` when their fork is not active at genesis.
#[derive(Debug, Clone, Copy)]
pub struct GenesisHeader {
    pub parent_hash: [u8; 32],
    pub ommers_hash: [u8; 32],
    pub coinbase: [u8; 20],
    pub state_root: [u8; 32],
    pub transactions_root: [u8; 32],
    pub receipts_root: [u8; 32],
    pub difficulty: u64,
    pub gas_limit: u64,
    pub timestamp: u64,
    pub extra_data: &'static [u8],
    pub mix_hash: [u8; 32],
    pub nonce: u64,
    /// EIP-1559 (London at genesis).
    pub base_fee_per_gas: Option<u64>,
    /// EIP-4895 (Shanghai at genesis).
    pub withdrawals_root: Option<[u8; 32]>,
    /// EIP-4844 (Cancun at genesis).
    pub blob_gas_used: Option<u64>,
    /// EIP-4844 (Cancun at genesis).
    pub excess_blob_gas: Option<u64>,
    /// EIP-4788 (Cancun at genesis).
    pub parent_beacon_block_root: Option<[u8; 32]>,
}

impl GenesisHeader {
    /// The genesis block header.
    pub fn header(&self) -> Header {
        Header {
            parent_hash: self.parent_hash,
            ommers_hash: self.ommers_hash,
            coinbase: self.coinbase,
            state_root: self.state_root,
            transactions_root: self.transactions_root,
            receipts_root: self.receipts_root,
            logs_bloom: Box::new([0; 256]),
            difficulty: U256::from_u64(self.difficulty),
            number: 0,
            gas_limit: self.gas_limit,
            gas_used: 0,
            timestamp: self.timestamp,
            extra_data: self.extra_data.to_vec(),
            mix_hash: self.mix_hash,
            nonce: self.nonce.to_be_bytes(),
            base_fee_per_gas: self.base_fee_per_gas.map(U256::from_u64),
            withdrawals_root: self.withdrawals_root,
            blob_gas_used: self.blob_gas_used,
            excess_blob_gas: self.excess_blob_gas,
            parent_beacon_block_root: self.parent_beacon_block_root,
            requests_hash: None,
            extra_fields: Vec::new(),
        }
    }
}

/// The built-in networks, mainnet first.
pub const NETWORKS: [&Network; 4] = [&MAINNET, &SEPOLIA, &HOLESKY, &HOODI];

/// The built-in network called `name` (as `--network` spells it).
pub fn by_name(name: &str) -> Option<&'static Network> {
    NETWORKS.into_iter().find(|n| n.name == name)
}

/// Decodes a `0x`-prefixed hex literal of exactly `N` bytes at compile time; a malformed literal
/// stops the build. Only the constants in this file use it.
const fn hex<const N: usize>(text: &str) -> [u8; N] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let s = text.as_bytes();
    assert!(
        s.len() == 2 + 2 * N && s[0] == b'0' && s[1] == b'x',
        "wrong hex length"
    );
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = digit(s[2 + 2 * i]) << 4 | digit(s[3 + 2 * i]);
        i += 1;
    }
    out
}

/// Mainnet.
pub const MAINNET: Network = Network {
    name: "mainnet",
    network_id: 1,
    chain_id: 1,
    genesis_hash: hex::<32>("0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"),
    genesis: GenesisHeader {
        parent_hash: hex::<32>(
            "0x0000000000000000000000000000000000000000000000000000000000000000",
        ),
        ommers_hash: hex::<32>(
            "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        ),
        coinbase: hex::<20>("0x0000000000000000000000000000000000000000"),
        state_root: hex::<32>("0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544"),
        transactions_root: hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        ),
        receipts_root: hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        ),
        difficulty: 17_179_869_184,
        gas_limit: 5000,
        timestamp: 0,
        extra_data: &hex::<32>(
            "0x11bbe8db4e347b4e8c937c1c8370e4b5ed33adb3db69cbdb7a38e1e50b1b82fa",
        ),
        mix_hash: hex::<32>("0x0000000000000000000000000000000000000000000000000000000000000000"),
        nonce: 0x42,
        base_fee_per_gas: None,
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
    },
    block_forks: &[
        ("homestead", 1_150_000),
        ("dao", 1_920_000),
        ("eip150", 2_463_000),
        ("eip155", 2_675_000),
        ("eip158", 2_675_000),
        ("byzantium", 4_370_000),
        ("constantinople", 7_280_000),
        ("petersburg", 7_280_000),
        ("istanbul", 9_069_000),
        ("muirGlacier", 9_200_000),
        ("berlin", 12_244_000),
        ("london", 12_965_000),
        ("arrowGlacier", 13_773_000),
        ("grayGlacier", 15_050_000),
    ],
    time_forks: &[
        ("shanghai", 1_681_338_455),
        ("cancun", 1_710_338_135),
        ("prague", 1_746_612_311),
        ("osaka", 1_764_798_551),
        ("bpo1", 1_765_290_071),
        ("bpo2", 1_767_747_671),
    ],
    terminal_total_difficulty: 58_750_000_000_000_000_000_000,
    deposit_contract: hex::<20>("0x00000000219ab540356cbb839cbe05303d7705fa"),
    bootnodes: &[
        "enode://d860a01f9722d78051619d1e2351aba3f43f943f6f00718d1b9baa4101932a1f5011f16bb2b1bb35db20d6fe28fa0bf09636d26a87d31de9ec6203eeedb1f666@18.138.108.67:30303",
        "enode://22a8232c3abc76a16ae9d6c3b164f98775fe226f0917b0ca871128a74a8e9630b458460865bab457221f1d448dd9791d24c4e5d88786180ac185df813a68d4de@3.209.45.79:30303",
        "enode://2b252ab6a1d0f971d9722cb839a42cb81db019ba44c08754628ab4a823487071b5695317c8ccd085219c3a03af063495b2f1da8d18218da2d6a82981b45e6ffc@65.108.70.101:30303",
        "enode://4aeb4ab6c14b23e2c4cfdce879c04b0748a20d8e9b59e25ded2a08143e265c6c25936e74cbc8e641e3312ca288673d91f2f93f8e277de3cfa444ecdaaf982052@157.90.35.166:30303",
    ],
    bootnodes_v5: V5_BOOTNODES,
    dns_discovery: "enrtree://AKA3AM6LPBYEUDMVNU3BSVQJ5AD45Y7YPOHJLEF6W26QOE4VTUDPE@all.mainnet.ethdisco.net",
};

/// Sepolia.
pub const SEPOLIA: Network = Network {
    name: "sepolia",
    network_id: 11_155_111,
    chain_id: 11_155_111,
    genesis_hash: hex::<32>("0x25a5cc106eea7138acab33231d7160d69cb777ee0c2c553fcddf5138993e6dd9"),
    genesis: GenesisHeader {
        parent_hash: hex::<32>(
            "0x0000000000000000000000000000000000000000000000000000000000000000",
        ),
        ommers_hash: hex::<32>(
            "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        ),
        coinbase: hex::<20>("0x0000000000000000000000000000000000000000"),
        state_root: hex::<32>("0x5eb6e371a698b8d68f665192350ffcecbbbf322916f4b51bd79bb6887da3f494"),
        transactions_root: hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        ),
        receipts_root: hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        ),
        difficulty: 131_072,
        gas_limit: 30_000_000,
        timestamp: 1_633_267_481,
        extra_data: &hex::<32>(
            "0x5365706f6c69612c20417468656e732c204174746963612c2047726565636521",
        ),
        mix_hash: hex::<32>("0x0000000000000000000000000000000000000000000000000000000000000000"),
        nonce: 0,
        base_fee_per_gas: Some(1_000_000_000),
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
    },
    block_forks: &[
        ("homestead", 0),
        ("eip150", 0),
        ("eip155", 0),
        ("eip158", 0),
        ("byzantium", 0),
        ("constantinople", 0),
        ("petersburg", 0),
        ("istanbul", 0),
        ("muirGlacier", 0),
        ("berlin", 0),
        ("london", 0),
        ("mergeNetsplit", 1_735_371),
    ],
    time_forks: &[
        ("shanghai", 1_677_557_088),
        ("cancun", 1_706_655_072),
        ("prague", 1_741_159_776),
        ("osaka", 1_760_427_360),
        ("bpo1", 1_761_017_184),
        ("bpo2", 1_761_607_008),
    ],
    terminal_total_difficulty: 17_000_000_000_000_000,
    deposit_contract: hex::<20>("0x7f02c3e3c98b133055b8b348b2ac625669ed295d"),
    bootnodes: &[
        "enode://4e5e92199ee224a01932a377160aa432f31d0b351f84ab413a8e0a42f4f36476f8fb1cbe914af0d9aef0d51665c214cf653c651c4bbd9d5550a934f241f1682b@138.197.51.181:30303",
        "enode://143e11fb766781d22d92a2e33f8f104cddae4411a122295ed1fdb6638de96a6ce65f5b7c964ba3763bba27961738fef7d3ecc739268f3e5e771fb4c87b6234ba@146.190.1.103:30303",
        "enode://8b61dc2d06c3f96fddcbebb0efb29d60d3598650275dc469c22229d3e5620369b0d3dedafd929835fe7f489618f19f456fe7c0df572bf2d914a9f4e006f783a9@170.64.250.88:30303",
        "enode://10d62eff032205fcef19497f35ca8477bea0eadfff6d769a147e895d8b2b8f8ae6341630c645c30f5df6e67547c03494ced3d9c5764e8622a26587b083b028e8@139.59.49.206:30303",
        "enode://9e9492e2e8836114cc75f5b929784f4f46c324ad01daf87d956f98b3b6c5fcba95524d6e5cf9861dc96a2c8a171ea7105bb554a197455058de185fa870970c7c@138.68.123.152:30303",
    ],
    bootnodes_v5: V5_BOOTNODES,
    dns_discovery: "enrtree://AKA3AM6LPBYEUDMVNU3BSVQJ5AD45Y7YPOHJLEF6W26QOE4VTUDPE@all.sepolia.ethdisco.net",
};

/// Holesky.
pub const HOLESKY: Network = Network {
    name: "holesky",
    network_id: 17000,
    chain_id: 17000,
    genesis_hash: hex::<32>("0xb5f7f912443c940f21fd611f12828d75b534364ed9e95ca4e307729a4661bde4"),
    genesis: GenesisHeader {
        parent_hash: hex::<32>(
            "0x0000000000000000000000000000000000000000000000000000000000000000",
        ),
        ommers_hash: hex::<32>(
            "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        ),
        coinbase: hex::<20>("0x0000000000000000000000000000000000000000"),
        state_root: hex::<32>("0x69d8c9d72f6fa4ad42d4702b433707212f90db395eb54dc20bc85de253788783"),
        transactions_root: hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        ),
        receipts_root: hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        ),
        difficulty: 1,
        gas_limit: 25_000_000,
        timestamp: 1_695_902_100,
        extra_data: &[],
        mix_hash: hex::<32>("0x0000000000000000000000000000000000000000000000000000000000000000"),
        nonce: 0x1234,
        base_fee_per_gas: Some(1_000_000_000),
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
    },
    block_forks: &[
        ("homestead", 0),
        ("eip150", 0),
        ("eip155", 0),
        ("eip158", 0),
        ("byzantium", 0),
        ("constantinople", 0),
        ("petersburg", 0),
        ("istanbul", 0),
        ("berlin", 0),
        ("london", 0),
    ],
    time_forks: &[
        ("shanghai", 1_696_000_704),
        ("cancun", 1_707_305_664),
        ("prague", 1_740_434_112),
        ("osaka", 1_759_308_480),
        ("bpo1", 1_759_800_000),
        ("bpo2", 1_760_389_824),
    ],
    terminal_total_difficulty: 0,
    deposit_contract: hex::<20>("0x4242424242424242424242424242424242424242"),
    bootnodes: &[
        "enode://ac906289e4b7f12df423d654c5a962b6ebe5b3a74cc9e06292a85221f9a64a6f1cfdd6b714ed6dacef51578f92b34c60ee91e9ede9c7f8fadc4d347326d95e2b@146.190.13.128:30303",
        "enode://a3435a0155a3e837c02f5e7f5662a2f1fbc25b48e4dc232016e1c51b544cb5b4510ef633ea3278c0e970fa8ad8141e2d4d0f9f95456c537ff05fdf9b31c15072@178.128.136.233:30303",
    ],
    bootnodes_v5: V5_BOOTNODES,
    dns_discovery: "enrtree://AKA3AM6LPBYEUDMVNU3BSVQJ5AD45Y7YPOHJLEF6W26QOE4VTUDPE@all.holesky.ethdisco.net",
};

/// Hoodi.
pub const HOODI: Network = Network {
    name: "hoodi",
    network_id: 560_048,
    chain_id: 560_048,
    genesis_hash: hex::<32>("0xbbe312868b376a3001692a646dd2d7d1e4406380dfd86b98aa8a34d1557c971b"),
    genesis: GenesisHeader {
        parent_hash: hex::<32>(
            "0x0000000000000000000000000000000000000000000000000000000000000000",
        ),
        ommers_hash: hex::<32>(
            "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        ),
        coinbase: hex::<20>("0x0000000000000000000000000000000000000000"),
        state_root: hex::<32>("0xda87d7f5f91c51508791bbcbd4aa5baf04917830b86985eeb9ad3d5bfb657576"),
        transactions_root: hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        ),
        receipts_root: hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        ),
        difficulty: 1,
        gas_limit: 36_000_000,
        timestamp: 1_742_212_800,
        extra_data: &[],
        mix_hash: hex::<32>("0x0000000000000000000000000000000000000000000000000000000000000000"),
        nonce: 0x1234,
        base_fee_per_gas: Some(1_000_000_000),
        withdrawals_root: Some(hex::<32>(
            "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        )),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(hex::<32>(
            "0x0000000000000000000000000000000000000000000000000000000000000000",
        )),
    },
    block_forks: &[
        ("homestead", 0),
        ("eip150", 0),
        ("eip155", 0),
        ("eip158", 0),
        ("byzantium", 0),
        ("constantinople", 0),
        ("petersburg", 0),
        ("istanbul", 0),
        ("muirGlacier", 0),
        ("berlin", 0),
        ("london", 0),
        ("mergeNetsplit", 0),
    ],
    time_forks: &[
        ("shanghai", 0),
        ("cancun", 0),
        ("prague", 1_742_999_832),
        ("osaka", 1_761_677_592),
        ("bpo1", 1_762_365_720),
        ("bpo2", 1_762_955_544),
    ],
    terminal_total_difficulty: 0,
    deposit_contract: hex::<20>("0x00000000219ab540356cbb839cbe05303d7705fa"),
    bootnodes: &[
        "enode://2112dd3839dd752813d4df7f40936f06829fc54c0e051a93967c26e5f5d27d99d886b57b4ffcc3c475e930ec9e79c56ef1dbb7d86ca5ee83a9d2ccf36e5c240c@134.209.138.84:30303",
        "enode://60203fcb3524e07c5df60a14ae1c9c5b24023ea5d47463dfae051d2c9f3219f309657537576090ca0ae641f73d419f53d8e8000d7a464319d4784acd7d2abc41@209.38.124.160:30303",
        "enode://8ae4a48101b2299597341263da0deb47cc38aa4d3ef4b7430b897d49bfa10eb1ccfe1655679b1ed46928ef177fbf21b86837bd724400196c508427a6f41602cd@134.199.184.23:30303",
    ],
    bootnodes_v5: V5_BOOTNODES,
    dns_discovery: "enrtree://AKA3AM6LPBYEUDMVNU3BSVQJ5AD45Y7YPOHJLEF6W26QOE4VTUDPE@all.hoodi.ethdisco.net",
};
