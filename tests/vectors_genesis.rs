//! Genesis headers: the test chain's `fixtures/chain/genesis.json` must give the genesis header
//! and hash recorded in `chain/chain_index.json` (and that block 1 links to), and the public
//! networks' genesis headers in `fixtures/networks.json` must encode and hash as recorded, both
//! built from their fields and built by `Genesis` from a genesis file with their fork schedule.

mod common;

use common::{fixture_json, fixture_path, h32, hv};
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::header::{Header, U256};
use rlp::Rlp;
use serde_json::{Map, Value, json};

fn chain_genesis() -> Genesis {
    let text = std::fs::read_to_string(fixture_path("chain/genesis.json")).expect("genesis.json");
    Genesis::from_json(&text).unwrap_or_else(|e| panic!("chain/genesis.json: {e}"))
}

#[test]
fn test_chain_genesis_matches_the_index() {
    let index = fixture_json("chain/chain_index.json");
    let want = &index["genesis"];
    let g = chain_genesis();
    assert_eq!(
        g.config.chain_id,
        index["chain_id"].as_u64().unwrap(),
        "chain id"
    );
    assert_eq!(
        g.state_root().to_vec(),
        hv(&want["state_root"]),
        "state root"
    );
    let header = g.header();
    assert_eq!(header.rlp(), hv(&want["header_rlp"]), "genesis header RLP");
    assert_eq!(g.hash().to_vec(), hv(&want["hash"]), "genesis hash");
    let fields = Rlp::new(&header.rlp()).item_count().unwrap();
    assert_eq!(
        fields as u64,
        want["header_fields"].as_u64().unwrap(),
        "field count"
    );
    let decoded = Header::decode(&hv(&want["header_rlp"])).expect("decode genesis header");
    assert_eq!(decoded, header, "decoded genesis header");
}

#[test]
fn block_one_links_to_the_computed_genesis() {
    let data = std::fs::read(fixture_path("chain/chain.rlp")).expect("chain.rlp");
    let block = Rlp::new(&data);
    let header = Header::decode_item(&block.at(0).unwrap()).expect("block 1 header");
    assert_eq!(header.number, 1);
    assert_eq!(
        header.parent_hash,
        chain_genesis().hash(),
        "block 1 parentHash"
    );
}

#[test]
fn test_chain_config_and_alloc_are_read() {
    let g = chain_genesis();
    let c = &g.config;
    assert_eq!(c.block("londonBlock"), Some(0));
    assert_eq!(c.block("mergeNetsplitBlock"), Some(0));
    assert_eq!(c.time("cancunTime"), Some(60));
    assert_eq!(c.time("pragueTime"), Some(120));
    assert_eq!(c.terminal_total_difficulty, Some(U256::from_u64(131_072)));
    assert_eq!(c.blob_schedule.len(), 2);
    assert_eq!(c.blob_schedule[1].0, "prague");
    assert_eq!(c.blob_schedule[1].1.max, 9);
    let raw = fixture_json("chain/genesis.json");
    assert_eq!(g.alloc.len(), raw["alloc"].as_object().unwrap().len());
    assert!(
        g.alloc
            .values()
            .any(|a| a.storage.len() == 3 && a.nonce == 1)
    );
}

/// A header from the `fields` object of a `networks.json` genesis header.
fn header_from_fields(f: &Value) -> Header {
    let num = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k}"));
    let opt32 = |k: &str| f.get(k).map(|v| h32(v.as_str().unwrap()));
    Header {
        parent_hash: h32(f["parentHash"].as_str().unwrap()),
        ommers_hash: h32(f["ommersHash"].as_str().unwrap()),
        coinbase: hv(&f["coinbase"]).try_into().unwrap(),
        state_root: h32(f["stateRoot"].as_str().unwrap()),
        transactions_root: h32(f["transactionsRoot"].as_str().unwrap()),
        receipts_root: h32(f["receiptsRoot"].as_str().unwrap()),
        logs_bloom: Box::new(hv(&f["logsBloom"]).try_into().unwrap()),
        difficulty: U256::from_u64(num("difficulty")),
        number: num("number"),
        gas_limit: num("gasLimit"),
        gas_used: num("gasUsed"),
        timestamp: num("timestamp"),
        extra_data: hv(&f["extraData"]),
        mix_hash: h32(f["mixHash"].as_str().unwrap()),
        nonce: hv(&f["nonce"]).try_into().unwrap(),
        base_fee_per_gas: f
            .get("baseFeePerGas")
            .map(|v| U256::from_u64(v.as_u64().unwrap())),
        withdrawals_root: opt32("withdrawalsRoot"),
        blob_gas_used: f.get("blobGasUsed").map(|v| v.as_u64().unwrap()),
        excess_blob_gas: f.get("excessBlobGas").map(|v| v.as_u64().unwrap()),
        parent_beacon_block_root: opt32("parentBeaconBlockRoot"),
        requests_hash: opt32("requestsHash"),
        extra_fields: Vec::new(),
    }
}

#[test]
fn network_genesis_headers_encode_and_hash() {
    let json = fixture_json("networks.json");
    let networks = json["networks"].as_object().expect("networks");
    assert_eq!(networks.len(), 4, "network count changed");
    for (name, net) in networks {
        let g = &net["genesis_header"];
        let header = header_from_fields(&g["fields"]);
        let want_rlp = hv(&g["rlp"]);
        assert_eq!(header.rlp(), want_rlp, "{name}: header RLP");
        assert_eq!(
            header.hash().to_vec(),
            hv(&net["genesis_hash"]),
            "{name}: hash"
        );
        let fields = Rlp::new(&want_rlp).item_count().unwrap() as u64;
        assert_eq!(
            fields,
            g["field_count"].as_u64().unwrap(),
            "{name}: field count"
        );
        assert_eq!(
            Header::decode(&want_rlp).as_ref(),
            Ok(&header),
            "{name}: decode"
        );
    }
}

/// A genesis file for a network, written from its `networks.json` entry with an empty alloc:
/// the fork schedule goes into `config` as geth names it, the header fields at the top level.
/// The base fee and the Shanghai/Cancun fields are left out, so `Genesis` must supply them.
fn genesis_file_for(net: &Value) -> String {
    let f = &net["genesis_header"]["fields"];
    let mut config = Map::new();
    config.insert("chainId".into(), net["chain_id"].clone());
    for (fork, at) in net["fork_blocks"].as_object().unwrap() {
        config.insert(format!("{fork}Block"), at.clone());
    }
    for (fork, at) in net["fork_times"].as_object().unwrap() {
        config.insert(format!("{fork}Time"), at.clone());
    }
    let ttd = net["terminal_total_difficulty"].as_str().unwrap();
    config.insert("terminalTotalDifficulty".into(), Value::String(ttd.into()));
    json!({
        "config": config,
        "nonce": f["nonce"],
        "timestamp": f["timestamp"],
        "extraData": f["extraData"],
        "gasLimit": f["gasLimit"],
        "difficulty": f["difficulty"],
        "mixHash": f["mixHash"],
        "coinbase": f["coinbase"],
        "alloc": {},
    })
    .to_string()
}

#[test]
fn network_genesis_fork_fields_come_from_the_schedule() {
    let json = fixture_json("networks.json");
    for (name, net) in json["networks"].as_object().unwrap() {
        let g =
            Genesis::from_json(&genesis_file_for(net)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut header = g.header();
        // The alloc is not in the fixture; the recorded state root stands in for it.
        let fields = &net["genesis_header"]["fields"];
        header.state_root = h32(fields["stateRoot"].as_str().unwrap());
        assert_eq!(header, header_from_fields(fields), "{name}: genesis header");
        assert_eq!(
            header.hash().to_vec(),
            hv(&net["genesis_hash"]),
            "{name}: hash"
        );
        let ttd = net["terminal_total_difficulty"].as_str().unwrap();
        assert_eq!(
            g.config.terminal_total_difficulty,
            U256::parse(ttd),
            "{name}: TTD"
        );
    }
}

#[test]
fn genesis_text_errors_do_not_panic() {
    let text = std::fs::read_to_string(fixture_path("chain/genesis.json")).unwrap();
    // Every truncation is refused; the whole file is accepted.
    for end in (0..text.len()).step_by(97) {
        if let Some(prefix) = text.get(..end) {
            assert!(
                Genesis::from_json(prefix).is_err(),
                "prefix of {end} bytes accepted"
            );
        }
    }
    assert!(Genesis::from_json(&text).is_ok());
}
