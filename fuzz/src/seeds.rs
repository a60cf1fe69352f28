//! Seed corpora for the fuzz targets, built from the test vectors in `fixtures/` (each target's
//! seeds are inputs in the form its body reads: a message id before an eth payload, a script for
//! the state machines). `tests/fuzz_smoke.rs` feeds them to every body and, with
//! `FUZZ_WRITE_CORPUS=<dir>`, writes them to `<dir>/<target>/` for `make fuzz`.

use std::path::Path;

use ethpeer::chain::import::RlpReader;
use ethpeer::crypto::SecretKey;
use ethpeer::nodedb::NodeRecord;
use ethpeer::rlpx::snappy;
use ethpeer::tx::journal;
use serde_json::Value;

/// The seeds of target `name`, read from the fixtures folder `fixtures`.
pub fn seeds(fixtures: &Path, name: &str) -> Vec<Vec<u8>> {
    let json = |file: &str| -> Value {
        let text = std::fs::read_to_string(fixtures.join(file)).expect("fixture file");
        serde_json::from_str(&text).expect("fixture JSON")
    };
    let text = |file: &str| std::fs::read(fixtures.join(file)).expect("fixture file");
    let mut out: Vec<Vec<u8>> = match name {
        "rlp_strict" => ["rlp/rlptest.json", "rlp/invalidRLPTest.json"]
            .iter()
            .flat_map(|f| hex_strings(&json(f)))
            .collect(),
        "enode_text" | "static_nodes" => {
            let urls: Vec<String> = json("enr/enode_urls.json")["cases"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c["input"].as_str().map(str::to_owned))
                .collect();
            if name == "enode_text" {
                urls.into_iter().map(String::into_bytes).collect()
            } else {
                let list = serde_json::to_string(&urls).unwrap();
                vec![list.into_bytes(), b"[]".to_vec()]
            }
        }
        "enr_text" => {
            let mut v = Vec::new();
            strings_of(&json("enr/records.json"), &mut v);
            v.into_iter()
                .filter(|s| s.starts_with("enr:"))
                .map(String::into_bytes)
                .collect()
        }
        "enr_rlp" => hex_strings(&json("enr/records.json")),
        "discv4_packet" => hex_strings(&json("discv4/packets.json")),
        "discv4_machine" => (0u8..6)
            .map(|k| {
                // Pings from every peer, then packet kind k from each, a timeout, raw bytes, a lookup.
                let mut s = Vec::new();
                for peer in 0..6u8 {
                    s.extend([0, 0, peer * 6]);
                }
                for peer in 0..6u8 {
                    s.extend([0, 0, peer * 6 + k]);
                }
                s.extend([3, 40, 0, 2, 9, 4, 1, 2, 3, 4, 4, 0, 0, 1, 5, 5]);
                s
            })
            .collect(),
        "rlpx_auth_ack_plain" | "rlpx_handshake_encrypted" => {
            hex_strings(&json("rlpx/handshake_vectors.json"))
                .into_iter()
                .filter(|b| b.len() > 64)
                .collect()
        }
        "rlpx_frame_ingress" => vec![
            vec![0, 0x10, 3, b'a', b'b', b'c', 0x02, 0],
            vec![1, 0x10, 3, b'a', b'b', b'c', 0x02, 0],
            [vec![0, 0x20, 200], vec![0x5a; 200], vec![3, 1, 0xc0]].concat(),
            [vec![7, 0x20, 200], vec![0x5a; 200], vec![3, 1, 0xc0]].concat(),
        ],
        "snappy" => {
            let mut v = hex_strings(&json("p2p/messages.json"));
            let plains: Vec<Vec<u8>> = v.clone();
            v.extend(plains.iter().map(|p| snappy::compress(p).unwrap()));
            v.push(snappy::compress(&[0u8; 5000]).unwrap());
            v
        }
        "p2p_messages" => {
            let plain = hex_strings(&json("p2p/messages.json"));
            let with_id: Vec<Vec<u8>> = plain
                .iter()
                .flat_map(|p| (0u8..4).map(move |id| [&[id][..], p].concat()))
                .collect();
            [plain, with_id].concat()
        }
        "eth_messages" => {
            let eth = json("eth/messages.json");
            eth["vectors"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|v| {
                    let id = v["eth_message_code"].as_u64()? as u8;
                    Some([&[id][..], &unhex(v["rlp"].as_str()?)?].concat())
                })
                .collect()
        }
        "transactions" => {
            let eth = json("eth/messages.json");
            let mut v = hex_strings(&eth["sample_transactions"]);
            v.extend(block_parts(fixtures, 20).1);
            v
        }
        "receipts" => {
            let file = std::fs::File::open(fixtures.join("chain/receipts.rlp")).unwrap();
            let mut reader = RlpReader::new(std::io::BufReader::new(file), 1 << 24);
            let mut v = Vec::new();
            for _ in 0..10 {
                let Ok(Some(block)) = reader.next_item() else {
                    break;
                };
                for r in rlp::Rlp::new(&block).iter() {
                    v.push(r.as_raw().to_vec());
                }
            }
            v.truncate(64);
            v
        }
        "headers" => block_parts(fixtures, 20).0,
        "genesis_json" => vec![text("chain/genesis.json")],
        "nodedb_value" => {
            let key = SecretKey::from_bytes(&[3; 32]).unwrap().public_key();
            let mut r = NodeRecord::new(key, [10, 0, 0, 1].into(), 30303, 30303);
            let bare = r.encode().unwrap();
            r.enr = hex_strings(&json("enr/records.json"))
                .into_iter()
                .find(|b| b.len() > 100 && b.len() <= 300);
            r.last_pong_received = 1_700_000_000;
            vec![bare, r.encode().unwrap()]
        }
        "tx_journal" => {
            let eth = json("eth/messages.json");
            let txs = hex_strings(&eth["sample_transactions"]);
            let all: Vec<u8> = txs.iter().flat_map(|t| journal::encode_record(t)).collect();
            let mut torn = all.clone();
            torn.truncate(all.len().saturating_sub(3));
            vec![all, torn]
        }
        "import_stream" => {
            let chain = text("chain/chain.rlp");
            let mut reader = RlpReader::new(&chain[..], 1 << 20);
            let mut v = Vec::new();
            let mut all = Vec::new();
            for _ in 0..4 {
                if let Ok(Some(b)) = reader.next_item() {
                    all.extend_from_slice(&b);
                    v.push(all.clone());
                }
            }
            v
        }
        "discv5_packet" => {
            // The spec's packets, unmasked into the target's input form.
            let dest = ethpeer::crypto::NodeId(super::targets::DISCV5_DEST);
            json("discv5/wire_vectors.json")["packets"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| {
                    let bytes = ethpeer::crypto::unhex(p["packet"].as_str()?).ok()?;
                    let d = ethpeer::discv5::packet::decode(&dest, &bytes).ok()?;
                    let mut v = d.masking_iv.to_vec();
                    v.extend_from_slice(&(d.header_bytes.len() as u16).to_be_bytes());
                    v.extend_from_slice(&d.header_bytes);
                    v.extend_from_slice(&d.message);
                    Some(v)
                })
                .collect()
        }
        "discv5_message" => {
            // PING, PONG, FINDNODE, NODES, TALKREQ, TALKRESP as the wire spec lays them out.
            let id: &[u8] = &[0, 0, 0, 1];
            let msg = |kind: u8, build: &dyn Fn(&mut rlp::RlpStream)| {
                let mut s = rlp::RlpStream::new();
                build(&mut s);
                let mut v = vec![kind];
                v.extend_from_slice(&s.out());
                v
            };
            vec![
                msg(1, &|s| {
                    s.begin_list(2).append(&id).append(&2u64);
                }),
                msg(2, &|s| {
                    s.begin_list(4)
                        .append(&id)
                        .append(&2u64)
                        .append(&[127u8, 0, 0, 1].as_slice())
                        .append(&30303u16);
                }),
                msg(3, &|s| {
                    s.begin_list(2).append(&id).append_list(&[256u16, 255, 0]);
                }),
                msg(4, &|s| {
                    s.begin_list(3).append(&id).append(&1u8).begin_list(0);
                }),
                msg(5, &|s| {
                    s.begin_list(3)
                        .append(&id)
                        .append(&b"eth".as_slice())
                        .append(&b"hello".as_slice());
                }),
                msg(6, &|s| {
                    s.begin_list(2).append(&id).append(&b"".as_slice());
                }),
            ]
        }
        "tx_fetcher" => {
            // Three peers announce overlapping hashes (sizes grow with k), the wait ends, peer 0
            // answers its request, peer 1 contradicts its announcement, requests time out, a
            // transaction is broadcast, peers leave.
            let mut v: Vec<Vec<u8>> = (0u8..4)
                .map(|k| {
                    let mut s = Vec::new();
                    for peer in 0..3u8 {
                        s.extend([0, peer, 12, 0]);
                        for i in 0..12u8 {
                            s.extend([peer * 4 + i, 1 | ((i * (k + 1) * 5) << 2)]);
                        }
                    }
                    s.extend([2, 0, 10, 1, 0, 1, 3, 0, 1, 1, 5, 2, 9]);
                    s.extend([
                        1, 1, 0, 1, 0, 5, 2, 2, 0, 100, 3, 0, 7, 0, 4, 2, 5, 1, 2, 0, 90,
                    ]);
                    s
                })
                .collect();
            // Every peer announces every hash, empty-sized (so requests fill by count), then
            // the wait ends and the requests time out in turn: the largest state the script
            // reaches.
            let mut s = Vec::new();
            for peer in 0..6u8 {
                for chunk in 0..32u16 {
                    let [page, base] = (chunk * 16).to_be_bytes();
                    s.extend([0, peer, 16, page]);
                    for i in 0..16u8 {
                        s.extend([base + i, peer & 3]);
                    }
                }
            }
            for _ in 0..8 {
                s.extend([2, 0, 90]);
            }
            v.push(s);
            v
        }
        "dial_scheduler" => [[9u8, 2], [0, 0], [25, 0x81], [47, 4]]
            .iter()
            .map(|config| {
                // Two static nodes (one also at a new address), candidates at good and bad
                // addresses, dials ending each way, inbound and trusted peers, a peer leaving,
                // the clock past dial timeouts, history expiry and static backoff, and again.
                let mut s = config.to_vec();
                s.extend([0, 1, 3, 0, 2, 3, 0, 2, 2, 0, 0, 3, 0, 4, 0]);
                for n in 3..10u8 {
                    s.extend([2, n, 3 + n % 2]);
                }
                s.extend([
                    2, 5, 1, 7, 0, 4, 3, 0, 0, 4, 0, 0, 3, 1, 1, 5, 6, 0, 5, 7, 1,
                ]);
                s.extend([5, 8, 4, 5, 9, 6, 6, 1, 0, 7, 0, 100, 3, 0, 0, 7, 0, 200]);
                s.extend([4, 0, 0, 4, 1, 0, 7, 0, 255, 7, 0, 255, 7, 0, 255, 1, 2, 0]);
                for n in 3..10u8 {
                    s.extend([2, n, 3]);
                }
                s.extend([3, 0, 0, 3, 1, 1, 7, 0, 250, 7, 0, 250, 7, 0, 250]);
                s
            })
            .collect(),
        "node_admission" => [
            [30u8, 0, 0, 1],
            [2, 0x06, 0x18, 3],
            [63, 0xff, 0, 2],
            [9, 0, 0x22, 0],
        ]
        .iter()
        .map(|config| {
            // Inbound connections from five nodes pass checkpoint 1 and offer eth/69 and
            // snap/1 at checkpoint 2 (some over the limits); one claims to be us, one a node
            // already connected; candidates and the clock bring dials, which are started
            // and pass both checkpoints; trusted and static nodes change; some close.
            let mut s = config.to_vec();
            for n in 1..7u8 {
                s.extend([0, n, 0]);
            }
            for k in 0..6u8 {
                s.extend([2, k + 1, k]);
            }
            s.extend([2, 0, 6, 0, 3, 0, 2, 3, 0]);
            for k in 0..6u8 {
                s.extend([3, 0, 5 * k + 2, 9, 1]);
            }
            s.extend([
                7, 7, 0, 7, 8, 0, 8, 0, 40, 1, 0, 0, 1, 0, 1, 2, 7, 8, 2, 8, 9,
            ]);
            s.extend([
                3, 0, 7, 9, 1, 3, 0, 8, 9, 1, 6, 2, 0, 6, 3, 1, 4, 0, 0, 4, 0, 3,
            ]);
            s.extend([
                5, 4, 2, 5, 4, 3, 8, 0, 200, 1, 0, 0, 2, 4, 0, 3, 0, 2, 9, 1, 4, 0, 1,
            ]);
            s
        })
        .collect(),
        "discv5_network" => (0u8..4)
            .map(|k| {
                // Node k%3 pings, asks and talks to the others; datagrams delivered in order
                // (handshakes complete), one changed, one replayed, one lost, a stranger's
                // bytes, the clock past the response timeout.
                let mut s = vec![k];
                s.extend([5, k, 0, 5, k + 3, 1, 5, k + 1, 2]);
                for _ in 0..12 {
                    s.extend([0, 0, 0]);
                }
                s.extend([5, k + 2, 0, 0, 0, 0, 1, 3, 0, 7, 2, 0, 0, 0, 0, 0, 3, 0]);
                s.extend([6, 0x80 | k, 20]);
                s.extend([0x5a; 20]);
                s.extend([6, 3, 30]);
                s.extend([0xa5; 30]);
                s.extend([5, k, 0, 6, 0xc0 | k, 0, 6, 0xc1 + k, 1]);
                s.extend([5, k, 155, 0, 0, 0, 5, k, 254, 0, 0, 0]);
                for _ in 0..8 {
                    s.extend([0, 1, 0]);
                }
                s.extend([4, 0, 40, 0, 0, 0, 4, 0, 200, 0, 0, 0]);
                s
            })
            .collect(),
        "jsonrpc_request" => [
            r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1,"a",null]}"#,
            r#"[{"jsonrpc":"2.0","id":"x","method":"echo"},{"jsonrpc":"2.0","method":"echo"}]"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"nope","params":{}}"#,
            r#"[]"#,
            r#"{"id":1}"#,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect(),
        "syncer" => {
            // Steps of four bytes (see targets::syncer): a peer added at slot `a` (`b`: version
            // and lies, `x` 25: has every block), replies to the first request in flight
            // (`b` the mode: 0 whole, 2 an eth/70 page, 3 short, 5 reordered, 6 garbled,
            // 9 a made-up id, 11 from another peer), writes done (`a` 7: failed), time.
            let add = |slot: u8, b: u8, x: u8| vec![0, slot, b, x];
            let serve = |n: usize, mode: u8| -> Vec<u8> {
                (0..n)
                    .flat_map(|i| [4, 0, mode, i as u8, 5, 0, 0, 0])
                    .collect()
            };
            let time = |a: u8| vec![6, a, 0, 0];
            let complete = [
                // eth/69, eth/70 and eth/68 (its head learned first), receipts on.
                [
                    vec![0],
                    add(0, 1, 25),
                    add(1, 2, 25),
                    add(2, 0, 25),
                    serve(120, 0),
                ]
                .concat(),
                // Receipts off, min_peers 2, one peer named.
                [vec![3], add(0x81, 1, 25), add(2, 1, 25), serve(80, 0)].concat(),
                // eth/70 alone, every receipts reply an eth/70 page.
                [vec![0], add(0, 2, 25), serve(150, 2)].concat(),
                // One write in flight at a time.
                [vec![0x10], add(0, 1, 25), add(1, 2, 25), serve(120, 0)].concat(),
                // Short replies, then whole ones.
                [
                    vec![0],
                    add(0, 1, 25),
                    add(1, 1, 25),
                    serve(40, 3),
                    serve(100, 0),
                ]
                .concat(),
            ];
            let faults = [
                // A peer that claims beyond what it has, a later earliest block, a made-up
                // eth/68 head, garbled and reordered data, a made-up id, a reply from another
                // peer, timeouts up to a stall, a failed write; then honest peers finish.
                [
                    vec![0],
                    add(0, 1 | 4, 20),
                    add(1, 2 | 16 | 0x20, 25),
                    add(2, 8, 25),
                    serve(6, 6),
                    serve(4, 5),
                    serve(3, 9),
                    serve(3, 11),
                    time(60),
                    time(60),
                    time(60),
                    serve(8, 0),
                    vec![5, 7, 0, 0],
                    add(3, 1, 25),
                    add(4, 2, 25),
                    serve(120, 0),
                    time(0),
                ]
                .concat(),
                // Silent peers: everything times out, the peers are dropped as stalled.
                [
                    vec![0],
                    add(0, 1, 25),
                    add(1, 2, 25),
                    time(0),
                    time(0),
                    time(60),
                ]
                .concat(),
                // A peer leaves mid-sync and comes back; late replies.
                [
                    vec![0],
                    add(0, 1, 25),
                    add(1, 1, 25),
                    serve(5, 0),
                    time(60),
                    vec![4, 0x80, 0, 0, 4, 0x80, 0, 0],
                    vec![3, 0, 0, 0],
                    add(0, 2, 25),
                    vec![1, 1, 30, 0, 2, 0, 40, 3],
                    serve(100, 0),
                ]
                .concat(),
                // Before the merge: eth/68 peers ranked by total difficulty, one announcing.
                [
                    vec![8],
                    add(0, 0, 25),
                    add(1, 0, 15),
                    vec![2, 1, 30, 2],
                    serve(120, 0),
                ]
                .concat(),
            ];
            complete.into_iter().chain(faults).collect()
        }
        "tx_handler" => (0u8..4)
            .map(|k| {
                // Steps (see targets::tx_handler): peers 0..5 connect; peer 0 pushes bodies,
                // peer 1 announces others honestly, the wait ends and peer 1 answers the
                // request; peer 2 asks for pooled ones; a local replacement; peer 3 sends only
                // invalid bodies past the limit; peer 4 announces with wrong sizes and types
                // and delivers the truth; a peer leaves and comes back; the clock moves.
                let mut s = Vec::new();
                for p in 0..5u8 {
                    s.extend([0, p]);
                }
                s.extend([2, 0, 8]);
                s.extend((0..8u8).map(|i| i + k));
                s.extend([3, 1, 8]);
                for i in 8..16u8 {
                    s.extend([i + k, 0]);
                }
                s.extend([6, 0, 20, 4, 1, 1, 8]);
                s.extend((8..16u8).map(|i| i + k));
                s.extend([5, 2, 7, 8]);
                s.extend((0..8u8).map(|i| i * 2 + k));
                s.extend([7, 0, 24 + k]);
                for _ in 0..(8 + 9 * (k % 2)) {
                    s.extend([2, 3, 8, 28, 29, 30, 31, 32, 33, 28, 29]);
                }
                s.extend([
                    3,
                    4,
                    3,
                    16 + k,
                    1,
                    17 + k,
                    2,
                    18 + k,
                    3,
                    6,
                    0,
                    20,
                    4,
                    4,
                    1,
                    3,
                ]);
                s.extend([16 + k, 17 + k, 18 + k]);
                s.extend([1, 2, 6, 0, 120, 0, 2, 0, 5, 3, 2, 0, 36, 6, 0, 200]);
                s
            })
            .collect(),
        "eth_manager" => (0u8..4)
            .map(|flags| {
                // Steps (see targets::eth_manager): peers 0..4 send our Status back at eth/68,
                // 69 and 70, honest or changed each way; messages in wire form (a header
                // request, an empty Transactions, an upside-down range, a reply to nothing); a
                // range update; block hashes announced; a second Status; heads written past
                // the range step; the clock; sessions closed and opened again.
                use ethpeer::eth::wire::{
                    BlockOrigin, BlockRangeUpdate, EthMessage, EthVersion, GetBlockHeaders,
                    RawList, RawResponse, encode,
                };
                let mut s = vec![flags];
                for how in 1..8u8 {
                    s.extend([0, how % 5, how, how, 40]);
                }
                for p in 0..5u8 {
                    s.extend([0, p, p, 0, 0]);
                }
                let v = EthVersion::Eth69;
                let msgs = [
                    EthMessage::GetBlockHeaders(GetBlockHeaders {
                        request_id: 7,
                        origin: BlockOrigin::Number(0),
                        amount: 1,
                        skip: 0,
                        reverse: false,
                    }),
                    EthMessage::Transactions(RawList::new()),
                    EthMessage::BlockRangeUpdate(BlockRangeUpdate {
                        earliest: 9,
                        latest: 3,
                        latest_hash: [3; 32],
                    }),
                    EthMessage::BlockHeaders(RawResponse {
                        request_id: 99,
                        items: RawList::new(),
                    }),
                ];
                for (p, msg) in msgs.iter().enumerate() {
                    let (id, payload) = encode(v, msg).expect("an eth/69 message");
                    s.extend([1, p as u8 + 1, id as u8, payload.len() as u8]);
                    s.extend(payload);
                }
                s.extend([2, 1, 0, 40, 2, 0, 5, 4, 6, 2, 17, 0, 3, 2, 0, 0, 0]);
                s.extend([5, 0, 33, 5, 0, 40, 5, 0, 63, 4, 0, 60, 3, 4, 0, 4, 2, 0, 0]);
                s.extend([4, 0, 200, 1, 3, 2, 0, 0, 6, 1, 9]);
                s
            })
            .collect(),
        other => panic!("no seeds for target {other}"),
    };
    out.sort();
    out.dedup();
    out
}

/// Headers and transactions (network form) of the first `n` blocks of chain.rlp.
fn block_parts(fixtures: &Path, n: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let chain = std::fs::read(fixtures.join("chain/chain.rlp")).unwrap();
    let mut reader = RlpReader::new(&chain[..], 1 << 20);
    let (mut headers, mut txs) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let Ok(Some(block)) = reader.next_item() else {
            break;
        };
        let b = rlp::Rlp::new(&block);
        headers.push(b.at(0).unwrap().as_raw().to_vec());
        for tx in b.at(1).unwrap().iter().take(4) {
            txs.push(tx.as_raw().to_vec());
        }
    }
    (headers, txs)
}

/// Every string in `v` spelt `0x` + hex, as bytes.
pub fn hex_strings(v: &Value) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    strings_of(v, &mut all);
    all.iter().filter_map(|s| unhex(s)).collect()
}

fn strings_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_of(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings_of(x, out)),
        _ => {}
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let h = s.strip_prefix("0x")?;
    ethpeer::crypto::unhex(h).ok()
}
