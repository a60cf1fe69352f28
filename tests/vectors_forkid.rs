//! EIP-2124 fork ids against `fixtures/forkid/vectors.json` (go-ethereum TestCreation,
//! TestValidation, TestEncoding, TestTimeBasedForkInGenesis, the original EIP tables, and the
//! test chain's ids), plus the fork lists and genesis fork ids of `fixtures/networks.json`.

mod common;

use common::{fixture_json, fixture_path, h, h32, hv};
use ethpeer::chain::forkid::{ForkId, ForkIdError, ForkSchedule, crc32};
use ethpeer::chain::genesis::Genesis;
use serde_json::Value;

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| x.as_u64().expect("u64"))
        .collect()
}

fn num(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a u64, got {v}"))
}

fn hash4(v: &Value) -> [u8; 4] {
    hv(v).try_into().expect("4-byte fork hash")
}

fn expect_error(v: &Value) -> Result<(), ForkIdError> {
    match v.as_str() {
        None => Ok(()),
        Some("ErrRemoteStale") => Err(ForkIdError::RemoteStale),
        Some("ErrLocalIncompatibleOrStale") => Err(ForkIdError::LocalIncompatibleOrStale),
        Some(other) => panic!("unknown error {other}"),
    }
}

#[test]
fn creation() {
    let json = fixture_json("forkid/vectors.json");
    let networks = json["creation"]["networks"].as_object().expect("networks");
    assert_eq!(networks.len(), 4, "network count changed");
    let mut count = 0;
    for (name, net) in networks {
        let schedule = ForkSchedule::new(
            h32(net["genesis_hash"].as_str().unwrap()),
            num(&net["genesis_time"]),
            u64s(&net["block_forks_after_genesis"]),
            u64s(&net["time_forks_after_genesis"]),
        );
        for case in net["cases"].as_array().unwrap() {
            let got = schedule.fork_id(num(&case["head"]), num(&case["time"]));
            let want = ForkId {
                hash: hash4(&case["fork_hash"]),
                next: num(&case["fork_next"]),
            };
            assert_eq!(got, want, "{name}: {}", case["comment"]);
            count += 1;
        }
    }
    assert_eq!(count, 78, "creation case count changed");
}

/// The local chains of the validation cases: mainnet's schedule, with or without its time forks.
fn validation_schedule(local_chain: &str, json: &Value) -> ForkSchedule {
    let mainnet = &json["creation"]["networks"]["mainnet"];
    let times = match local_chain {
        "mainnet" => u64s(&mainnet["time_forks_after_genesis"]),
        "mainnet-block-forks-only" => Vec::new(),
        other => panic!("unknown local chain {other}"),
    };
    ForkSchedule::new(
        h32(mainnet["genesis_hash"].as_str().unwrap()),
        0,
        u64s(&mainnet["block_forks_after_genesis"]),
        times,
    )
}

#[test]
fn validation() {
    let json = fixture_json("forkid/vectors.json");
    let cases = json["validation"]["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 45, "validation case count changed");
    assert_eq!(
        num(&json["validation"]["timestamp_threshold"]),
        ethpeer::chain::forkid::TIMESTAMP_THRESHOLD
    );
    for (i, case) in cases.iter().enumerate() {
        let schedule = validation_schedule(case["local_chain"].as_str().unwrap(), &json);
        let remote = ForkId {
            hash: hash4(&case["remote_fork_hash"]),
            next: num(&case["remote_fork_next"]),
        };
        let got = schedule.validate(remote, num(&case["local_head"]), num(&case["local_time"]));
        assert_eq!(
            got,
            expect_error(&case["expect_error"]),
            "case {i}: {}",
            case["comment"]
        );
    }
}

/// The four remote hashes the fixture derives with `checksumUpdate(prev, 2^64-1)`.
#[test]
fn validation_hash_derivations() {
    let json = fixture_json("forkid/vectors.json");
    let mut seen = 0;
    for case in json["validation"]["cases"].as_array().unwrap() {
        let Some(derivation) = case.get("remote_fork_hash_derivation") else {
            continue;
        };
        let text = derivation.as_str().unwrap();
        let prev = text
            .strip_prefix("checksumUpdate(")
            .and_then(|r| r.strip_suffix(", 2^64-1)"))
            .unwrap_or_else(|| panic!("unexpected derivation {text}"));
        let prev = u32::from_be_bytes(h(prev).try_into().unwrap());
        let got = crc32(prev, &u64::MAX.to_be_bytes()).to_be_bytes();
        assert_eq!(got, hash4(&case["remote_fork_hash"]), "{text}");
        seen += 1;
    }
    assert_eq!(seen, 4);
}

#[test]
fn rlp_encoding() {
    let json = fixture_json("forkid/vectors.json");
    let cases = json["rlp_encoding"]["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let id = ForkId {
            hash: hash4(&case["fork_hash"]),
            next: num(&case["fork_next"]),
        };
        let want = hv(&case["rlp"]);
        assert_eq!(rlp::encode(&id).to_vec(), want, "encode {id:?}");
        assert_eq!(rlp::decode::<ForkId>(&want), Ok(id), "decode {id:?}");
    }
}

#[test]
fn time_forks_at_or_before_genesis_are_skipped() {
    let json = fixture_json("forkid/vectors.json");
    let genesis = [0x42; 32];
    let cases = json["time_fork_at_genesis"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let genesis_time = num(&case["genesis_time"]);
        let schedule = ForkSchedule::new(
            genesis,
            genesis_time,
            [0, 0, 0],
            [num(&case["shanghai"]), num(&case["cancun"])],
        );
        assert_eq!(case["expect_fork_hash"], "crc32(genesis_hash)");
        let want = ForkId {
            hash: crc32(0, &genesis).to_be_bytes(),
            next: num(&case["expect_fork_next"]),
        };
        let got = schedule.fork_id(0, num(&case["head_time"]));
        assert_eq!(
            got, want,
            "shanghai {} cancun {}",
            case["shanghai"], case["cancun"]
        );
    }
}

#[test]
fn eip2124_original_tables() {
    let json = fixture_json("forkid/vectors.json");
    let original = &json["eip2124_original"];
    let mut mainnet = None;
    for (name, net) in original["creation"].as_object().unwrap() {
        let schedule = ForkSchedule::new(
            h32(net["genesis_hash"].as_str().unwrap()),
            0,
            u64s(&net["block_forks"]),
            [],
        );
        for case in net["cases"].as_array().unwrap() {
            let want = ForkId {
                hash: hash4(&case["fork_hash"]),
                next: num(&case["fork_next"]),
            };
            assert_eq!(
                schedule.fork_id(num(&case["head"]), 0),
                want,
                "{name}: {}",
                case["comment"]
            );
        }
        if name == "mainnet" {
            mainnet = Some(schedule);
        }
    }
    let mainnet = mainnet.expect("mainnet table");
    let cases = original["validation"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for case in cases {
        let remote = ForkId {
            hash: hash4(&case["remote_fork_hash"]),
            next: num(&case["remote_fork_next"]),
        };
        assert_eq!(
            mainnet.validate(remote, num(&case["local_head"]), 0),
            expect_error(&case["expect_error"]),
            "{}",
            case["comment"]
        );
    }
}

/// The test chain's fork ids, with the schedule read from its genesis file and the genesis hash
/// computed from it.
#[test]
fn test_chain_fork_ids() {
    let json = fixture_json("forkid/vectors.json");
    let chain = &json["ethtest_chain"];
    let text = std::fs::read_to_string(fixture_path("chain/genesis.json")).unwrap();
    let genesis = Genesis::from_json(&text).expect("chain genesis");
    assert_eq!(genesis.hash().to_vec(), hv(&chain["genesis_hash"]));
    let schedule = genesis.fork_schedule();
    assert_eq!(
        schedule.block_forks(),
        u64s(&chain["block_forks_after_genesis"])
    );
    assert_eq!(
        schedule.time_forks(),
        u64s(&chain["time_forks_after_genesis"])
    );
    for case in chain["cases"].as_array().unwrap() {
        let id = ForkId {
            hash: hash4(&case["fork_hash"]),
            next: num(&case["fork_next"]),
        };
        let (head, time) = (num(&case["head"]), num(&case["time"]));
        assert_eq!(schedule.fork_id(head, time), id, "head {head} time {time}");
        assert_eq!(
            schedule.validate(id, head, time),
            Ok(()),
            "self at head {head}"
        );
    }
    let index = fixture_json("chain/chain_index.json");
    let at_head = &index["forkid_at_head"];
    let head_id = schedule.fork_id(num(&index["head_number"]), num(&index["head_time"]));
    assert_eq!(head_id.hash, hash4(&at_head["hash"]), "fork hash at head");
    assert_eq!(head_id.next, num(&at_head["next"]), "fork next at head");
}

/// networks.json: the fork lists that enter the fork id, and the id at genesis, from the full
/// fork schedule (genesis-block forks, duplicates and genesis-time forks included).
#[test]
fn network_fork_lists_and_genesis_ids() {
    let json = fixture_json("networks.json");
    for (name, net) in json["networks"].as_object().unwrap() {
        let blocks: Vec<u64> = net["fork_blocks"]
            .as_object()
            .unwrap()
            .values()
            .map(num)
            .collect();
        let times: Vec<u64> = net["fork_times"]
            .as_object()
            .unwrap()
            .values()
            .map(num)
            .collect();
        let genesis_time = num(&net["genesis_timestamp"]);
        let schedule = ForkSchedule::new(
            h32(net["genesis_hash"].as_str().unwrap()),
            genesis_time,
            blocks,
            times,
        );
        assert_eq!(
            schedule.block_forks(),
            u64s(&net["forkid_forks_block"]),
            "{name}: block forks"
        );
        assert_eq!(
            schedule.time_forks(),
            u64s(&net["forkid_forks_time"]),
            "{name}: time forks"
        );
        let want = ForkId {
            hash: hash4(&net["forkid_at_genesis"]["fork_hash"]),
            next: num(&net["forkid_at_genesis"]["fork_next"]),
        };
        assert_eq!(
            schedule.fork_id(0, genesis_time),
            want,
            "{name}: fork id at genesis"
        );
    }
}
