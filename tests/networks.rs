//! The chain specs: the built-in networks against `fixtures/networks.json` (genesis headers and
//! hashes, ids, fork lists, bootnodes), their fork ids against the go-ethereum creation and
//! validation tables in `fixtures/forkid/vectors.json`, the test chain's spec from its genesis
//! file, and the fork filter on the `eth` entries of real node records.

mod common;

use common::{fixture_json, fixture_path, h, hv};
use ethpeer::chain::forkid::{ForkId, ForkIdError};
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::header::U256;
use ethpeer::chain::networks;
use ethpeer::chain::spec::ChainSpec;
use ethpeer::enode::Enode;
use ethpeer::enr::Record;
use serde_json::Value;

fn num(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

fn fork_id(hash: &Value, next: &Value) -> ForkId {
    ForkId {
        hash: hv(hash).try_into().expect("4-byte fork hash"),
        next: num(next),
    }
}

fn builtin(name: &str) -> ChainSpec {
    ChainSpec::builtin(name).unwrap_or_else(|| panic!("{name} is not built in"))
}

/// Every network in the fixture is built in, and the fixture's networks are all there is.
#[test]
fn builtin_networks_are_the_fixture_networks() {
    let json = fixture_json("networks.json");
    let fixture: Vec<&str> = json["networks"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut ours: Vec<&str> = ChainSpec::builtin_names().collect();
    let mut theirs = fixture.clone();
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);
    assert_eq!(ChainSpec::default().name, "mainnet", "default network");
}

/// Each genesis header, built from the compiled-in fields, encodes to the fixture's RLP and
/// hashes to the network's genesis hash.
#[test]
fn builtin_genesis_headers_hash_to_the_genesis_hash() {
    let json = fixture_json("networks.json");
    for (name, net) in json["networks"].as_object().unwrap() {
        let spec = builtin(name);
        let header = &spec.genesis_header;
        assert_eq!(
            header.rlp(),
            hv(&net["genesis_header"]["rlp"]),
            "{name}: genesis header RLP"
        );
        assert_eq!(header.hash(), spec.genesis_hash, "{name}: header hash");
        assert_eq!(
            spec.genesis_hash.to_vec(),
            hv(&net["genesis_hash"]),
            "{name}: genesis hash"
        );
        let fields = rlp::Rlp::new(&header.rlp()).item_count().unwrap();
        assert_eq!(
            fields as u64,
            num(&net["genesis_header"]["field_count"]),
            "{name}: header fields"
        );
        assert_eq!(header.timestamp, num(&net["genesis_timestamp"]), "{name}");
    }
}

/// Network id, chain id, TTD, deposit contract, DNS tree and the named forks match the fixture.
#[test]
fn builtin_parameters_match_the_fixture() {
    let json = fixture_json("networks.json");
    for (name, net) in json["networks"].as_object().unwrap() {
        let spec = builtin(name);
        let data = networks::by_name(name).unwrap();
        assert_eq!(
            spec.network_id,
            num(&net["network_id"]),
            "{name}: network id"
        );
        assert_eq!(spec.chain_id, num(&net["chain_id"]), "{name}: chain id");
        let ttd = net["terminal_total_difficulty"].as_str().unwrap();
        assert_eq!(
            spec.terminal_total_difficulty,
            U256::parse(ttd),
            "{name}: TTD"
        );
        assert_eq!(
            data.deposit_contract.to_vec(),
            hv(&net["deposit_contract"]),
            "{name}: deposit contract"
        );
        assert_eq!(
            data.dns_discovery,
            net["dns_discovery_url"].as_str().unwrap(),
            "{name}: DNS tree"
        );
        for (ours, key) in [
            (data.block_forks, "fork_blocks"),
            (data.time_forks, "fork_times"),
        ] {
            // serde_json sorts object keys, so compare as sorted lists.
            let mut ours = ours.to_vec();
            ours.sort_unstable();
            let theirs: Vec<(&str, u64)> = net[key]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str(), num(v)))
                .collect();
            assert_eq!(ours, theirs, "{name}: {key}");
        }
        let list = |v: &Value| -> Vec<u64> { v.as_array().unwrap().iter().map(num).collect() };
        assert_eq!(
            spec.fork_schedule.block_forks(),
            list(&net["forkid_forks_block"]),
            "{name}: fork-id block forks"
        );
        assert_eq!(
            spec.fork_schedule.time_forks(),
            list(&net["forkid_forks_time"]),
            "{name}: fork-id time forks"
        );
        let genesis_id = fork_id(
            &net["forkid_at_genesis"]["fork_hash"],
            &net["forkid_at_genesis"]["fork_next"],
        );
        let genesis_time = num(&net["genesis_timestamp"]);
        assert_eq!(
            spec.fork_id(0, genesis_time),
            genesis_id,
            "{name}: at genesis"
        );
    }
}

/// Every bootnode is a complete enode URL (an IP address and ports) that prints back the same.
#[test]
fn builtin_bootnodes_parse_as_enode_urls() {
    let json = fixture_json("networks.json");
    for (name, net) in json["networks"].as_object().unwrap() {
        let spec = builtin(name);
        let urls = net["bootnodes"].as_array().unwrap();
        assert_eq!(spec.bootnodes.len(), urls.len(), "{name}: bootnode count");
        for (node, url) in spec.bootnodes.iter().zip(urls) {
            let url = url.as_str().unwrap();
            let parsed: Enode = url.parse().unwrap_or_else(|e| panic!("{name}: {url}: {e}"));
            assert_eq!(node, &parsed, "{name}: {url}");
            assert!(node.tcp_addr().is_some(), "{name}: {url} has no address");
            assert_eq!(node.to_string(), url, "{name}: round trip");
        }
    }
}

/// Discovery v5's built-in bootnodes (go-ethereum's `V5Bootnodes`, compiled in): each is a
/// signed record that verifies, names a public IPv4 UDP endpoint and prints back the same; every
/// built-in network carries all of them, and a custom genesis none. Never contacted: no test
/// starts a node with them (every node gets `--bootnodes ""`).
#[test]
fn builtin_v5_bootnodes_parse_as_signed_records() {
    assert!(networks::V5_BOOTNODES.len() >= 10, "the list is too short");
    let mut ids = std::collections::BTreeSet::new();
    for text in networks::V5_BOOTNODES {
        let r = Record::from_text(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(r.verify().is_ok(), "{text}: signature");
        let ip = r.ip().unwrap_or_else(|| panic!("{text}: no ip"));
        assert!(!ip.is_private() && !ip.is_loopback(), "{text}: {ip}");
        assert!(r.udp().is_some_and(|p| p != 0), "{text}: no udp port");
        assert_eq!(r.to_text(), *text, "round trip");
        assert!(ids.insert(r.node_id()), "{text}: listed twice");
    }
    let json = fixture_json("networks.json");
    for name in json["networks"].as_object().unwrap().keys() {
        let spec = builtin(name);
        let texts: Vec<String> = spec.bootnodes_v5.iter().map(Record::to_text).collect();
        assert_eq!(texts, networks::V5_BOOTNODES, "{name}");
    }
}

/// go-ethereum's TestCreation table, every network and case, through the chain spec; the ENR
/// entry is the same id, and each id is accepted by our own filter at that head.
#[test]
fn builtin_fork_ids_match_the_creation_table() {
    let json = fixture_json("forkid/vectors.json");
    for (name, net) in json["creation"]["networks"].as_object().unwrap() {
        let spec = builtin(name);
        assert_eq!(
            spec.genesis_hash.to_vec(),
            hv(&net["genesis_hash"]),
            "{name}"
        );
        for case in net["cases"].as_array().unwrap() {
            let (head, time) = (num(&case["head"]), num(&case["time"]));
            let want = fork_id(&case["fork_hash"], &case["fork_next"]);
            let what = format!("{name} head {head} time {time} ({})", case["comment"]);
            assert_eq!(spec.fork_id(head, time), want, "{what}");
            assert_eq!(spec.enr_eth_entry(head, time), want, "{what}: ENR");
            assert!(spec.fork_filter(head, time)(&want), "{what}: filter");
        }
    }
}

/// go-ethereum's TestValidation cases for the full mainnet schedule, through the chain spec.
#[test]
fn mainnet_validation_table() {
    let json = fixture_json("forkid/vectors.json");
    let spec = ChainSpec::mainnet();
    let mut checked = 0;
    for case in json["validation"]["cases"].as_array().unwrap() {
        if case["local_chain"] != "mainnet" {
            continue;
        }
        let (head, time) = (num(&case["local_head"]), num(&case["local_time"]));
        let remote = fork_id(&case["remote_fork_hash"], &case["remote_fork_next"]);
        let want = match case["expect_error"].as_str() {
            None => Ok(()),
            Some("ErrRemoteStale") => Err(ForkIdError::RemoteStale),
            Some("ErrLocalIncompatibleOrStale") => Err(ForkIdError::LocalIncompatibleOrStale),
            Some(other) => panic!("unknown error {other}"),
        };
        let what = format!(
            "head {head} time {time} remote {remote:?}: {}",
            case["comment"]
        );
        assert_eq!(spec.validate(remote, head, time), want, "{what}");
        assert_eq!(
            spec.fork_filter(head, time)(&remote),
            want.is_ok(),
            "{what}"
        );
        checked += 1;
    }
    assert!(checked > 0, "no mainnet validation cases");
}

/// The test chain from its genesis file: network id defaults to the chain id, and the genesis
/// hash and the fork id at the head are the indexed ones.
#[test]
fn test_chain_spec_from_genesis_file() {
    let text = std::fs::read_to_string(fixture_path("chain/genesis.json")).unwrap();
    let genesis = Genesis::from_json(&text).expect("chain/genesis.json");
    let spec = ChainSpec::from_genesis(&genesis, None).expect("spec");
    let index = fixture_json("chain/chain_index.json");
    let forkid = fixture_json("forkid/vectors.json");
    let chain = &forkid["ethtest_chain"];
    assert_eq!(spec.genesis_hash.to_vec(), hv(&chain["genesis_hash"]));
    assert_eq!(
        spec.genesis_hash.to_vec(),
        h("0xbd6a252af394d80904c5993b859574bd4669642cea00a116970ec7887db67533")
    );
    assert_eq!(spec.network_id, num(&index["network_id"]), "network id");
    assert_eq!(spec.chain_id, num(&index["chain_id"]), "chain id");
    assert_eq!(spec.name, "custom");
    assert!(spec.bootnodes.is_empty());
    assert!(spec.bootnodes_v5.is_empty());
    let (head, time) = (num(&index["head_number"]), num(&index["head_time"]));
    let at_head = fork_id(
        &index["forkid_at_head"]["hash"],
        &index["forkid_at_head"]["next"],
    );
    assert_eq!(spec.fork_id(head, time), at_head, "fork id at the head");
    assert_eq!(
        at_head,
        ForkId {
            hash: [0x37, 0x7a, 0xaa, 0x78],
            next: 0
        }
    );
    for case in chain["cases"].as_array().unwrap() {
        let (head, time) = (num(&case["head"]), num(&case["time"]));
        let want = fork_id(&case["fork_hash"], &case["fork_next"]);
        assert_eq!(spec.fork_id(head, time), want, "test chain head {head}");
    }
    // An explicit network id wins over the chain id.
    assert_eq!(
        ChainSpec::from_genesis(&genesis, Some(1))
            .unwrap()
            .network_id,
        1
    );
    // Neither mainnet nor the test chain accepts the other's id.
    let mainnet = ChainSpec::mainnet();
    assert!(!spec.fork_filter(head, time)(&mainnet.fork_id(0, 0)));
    assert!(!mainnet.fork_filter(0, 0)(&at_head));
}

/// `ChainSpec::from_genesis` recognises a built-in network by its genesis hash, so the hashes
/// must tell the networks apart.
#[test]
fn builtin_genesis_hashes_are_distinct() {
    let hashes: Vec<[u8; 32]> = networks::NETWORKS.iter().map(|n| n.genesis_hash).collect();
    for (i, a) in hashes.iter().enumerate() {
        for b in &hashes[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

/// The two real node records in the ENR fixture carry `eth` entries. The first is a mainnet
/// node's (Muir Glacier era); the second is a Sepolia node's. Each filter accepts its own
/// network's record at a head in the era the record was made, refuses it at today's head (the
/// record is stale: it does not know the forks that followed), and the other network's filter
/// refuses it at every head.
#[test]
fn fork_filter_on_real_record_eth_entries() {
    let records = fixture_json("enr/records.json");
    let creation = fixture_json("forkid/vectors.json");
    let mut seen = Vec::new();
    for rec in records["records"].as_array().unwrap() {
        let Some(expect) = rec["expect"].get("eth_entry_forkid") else {
            continue;
        };
        let name = rec["name"].as_str().unwrap();
        let record: Record = rec["enr"].as_str().unwrap().parse().expect(name);
        let eth = record
            .eth()
            .unwrap_or_else(|| panic!("{name}: no eth entry"));
        assert_eq!(eth, fork_id(&expect["hash"], &expect["next"]), "{name}");
        // Which network: the one whose creation table has this fork hash.
        let (network, case) = creation["creation"]["networks"]
            .as_object()
            .unwrap()
            .iter()
            .find_map(|(net, v)| {
                let cases = v["cases"].as_array().unwrap();
                let case = cases.iter().find(|c| hv(&c["fork_hash"]) == eth.hash)?;
                Some((net.as_str(), case))
            })
            .unwrap_or_else(|| panic!("{name}: fork hash of no known network"));
        seen.push(network.to_string());
        let spec = builtin(network);
        let (head, time) = (num(&case["head"]), num(&case["time"]));
        assert!(
            spec.fork_filter(head, time)(&eth),
            "{name}: {network} at head {head} time {time} accepts it"
        );
        assert_eq!(
            spec.validate(eth, u64::MAX / 2, u64::MAX / 2),
            Err(ForkIdError::RemoteStale),
            "{name}: stale at today's {network} head"
        );
        for other in ChainSpec::builtin_names().filter(|n| *n != network) {
            let other_spec = builtin(other);
            for (head, time) in [
                (0, other_spec.genesis_header.timestamp),
                (u64::MAX / 2, u64::MAX / 2),
            ] {
                assert!(
                    !other_spec.fork_filter(head, time)(&eth),
                    "{name}: {other} at head {head} refuses a {network} record"
                );
            }
        }
        // Our own record's entry for that network round-trips through the ENR.
        let ours = spec.enr_eth_entry(head, time);
        let key = ethpeer::crypto::SecretKey::from_bytes(&[7; 32]).unwrap();
        let own = Record::builder().eth(ours).sign(&key).unwrap();
        assert_eq!(own.eth(), Some(ours), "{network}: own ENR eth entry");
    }
    assert_eq!(seen, ["mainnet", "sepolia"], "records with eth entries");
}
