//! `ethpeer test eth --engineapi URL --jwtsecret FILE`: before a transaction test the runner names
//! the chain dir's head through the node's Engine API, authenticated (execution-apis
//! authentication.md). The Engine API here is a stand-in served by this test with hyper, recording
//! what arrives; the eth side is our own node serving fixtures/chain.

mod common;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::fixture_node::{genesis_arg, imported_datadir};
use common::fixture_path;
use common::node_proc::NodeProc;
use common::suite_cli::run_suite;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// One request as the stand-in saw it.
struct Seen {
    authorization: String,
    body: serde_json::Value,
}

/// Serves on a loopback port: every request is recorded, then answered with `status` and a
/// VALID forkchoice reply.
fn stand_in(status: u16) -> (SocketAddr, mpsc::Receiver<Seen>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let listener = async_net::TcpListener::try_from(listener).unwrap();
        async_io::block_on(async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let authorization = req
                                .headers()
                                .get(hyper::header::AUTHORIZATION)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string();
                            let body = req.into_body().collect().await?.to_bytes();
                            let body = serde_json::from_slice(&body).unwrap_or_default();
                            let _ = tx.send(Seen {
                                authorization,
                                body,
                            });
                            let reply = r#"{"jsonrpc":"2.0","id":1,"result":{"payloadStatus":{"status":"VALID","latestValidHash":null,"validationError":null},"payloadId":null}}"#;
                            Ok::<_, hyper::Error>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::from(reply)))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let io = smol_hyper::rt::FuturesIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            }
        });
    });
    (addr, rx)
}

/// The token's MAC checks with `secret` and its `iat` is within a minute of now.
fn check_token(authorization: &str, secret: &[u8; 32]) {
    use hmac::{KeyInit, Mac};
    let token = authorization
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("not a bearer token: {authorization:?}"));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    let sig = ethpeer::enr::base64::decode(parts[2]).unwrap();
    mac.verify_slice(&sig).expect("the token's MAC checks");
    let claims: serde_json::Value =
        serde_json::from_slice(&ethpeer::enr::base64::decode(parts[1]).unwrap()).unwrap();
    let iat = claims["iat"].as_u64().expect("iat claim");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(iat.abs_diff(now) <= 60, "iat {iat}, now {now}");
}

fn head_hash() -> String {
    let text = std::fs::read_to_string(fixture_path("chain/headblock.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["hash"].as_str().unwrap().to_string()
}

/// The chain dir without headfcu.json, so the runner builds the request itself.
fn chain_without_fcu() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ethpeer-engine-chain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "genesis.json",
        "chain.rlp",
        "headblock.json",
        "accounts.json",
        "headstate.json",
        "forkenv.json",
    ] {
        std::fs::copy(fixture_path("chain").join(f), dir.join(f)).unwrap();
    }
    dir
}

#[test]
fn the_head_is_named_through_the_engine_api_before_transaction_tests() {
    let dir = imported_datadir("suite-engine");
    let genesis = genesis_arg();
    let node = NodeProc::start(&dir, &["--genesis", &genesis, "--nodiscover"]);
    let secret = [0x5a; 32];
    let secret_file = std::env::temp_dir().join(format!("ethpeer-jwt-{}", std::process::id()));
    std::fs::write(
        &secret_file,
        format!("0x{}\n", ethpeer::crypto::hex(&secret)),
    )
    .unwrap();
    let secret_arg = secret_file.display().to_string();

    // 1. A chain dir without headfcu.json: the runner builds engine_forkchoiceUpdatedV3 (the head
    //    is Prague) naming block 600 head, safe and finalized. Status sends nothing; Transaction
    //    sends one request, then passes.
    let (addr, seen) = stand_in(200);
    let url = format!("http://{addr}");
    let chain = chain_without_fcu();
    let run = run_suite(
        &[
            "eth",
            "--node",
            &node.enode,
            "--chain",
            &chain.display().to_string(),
            "--engineapi",
            &url,
            "--jwtsecret",
            &secret_arg,
            "--run",
            "^(Status|Transaction)/eth70$",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(
        run.with("pass"),
        ["Status/eth70", "Transaction/eth70"],
        "{}",
        run.stdout
    );
    let got: Vec<Seen> = seen.try_iter().collect();
    assert_eq!(got.len(), 1, "one forkchoice update, for Transaction only");
    check_token(&got[0].authorization, &secret);
    let body = &got[0].body;
    assert_eq!(body["method"], "engine_forkchoiceUpdatedV3", "{body}");
    let head = head_hash();
    for field in ["headBlockHash", "safeBlockHash", "finalizedBlockHash"] {
        assert_eq!(body["params"][0][field], head.as_str(), "{field}: {body}");
    }
    assert!(body["params"][1].is_null(), "no payload attributes: {body}");
    let _ = std::fs::remove_dir_all(&chain);

    // 2. fixtures/chain has geth's headfcu.json: it is sent as it is.
    let fcu: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_path("chain/headfcu.json")).unwrap())
            .unwrap();
    let fixtures_chain = fixture_path("chain").display().to_string();
    let run = run_suite(
        &[
            "eth",
            "--node",
            &node.enode,
            "--chain",
            &fixtures_chain,
            "--engineapi",
            &url,
            "--jwtsecret",
            &secret_arg,
            "--run",
            "^Transaction/eth70$",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(run.with("pass"), ["Transaction/eth70"], "{}", run.stdout);
    let got: Vec<Seen> = seen.try_iter().collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, fcu);

    // 3. An Engine API that refuses (401, as for a wrong secret): the test fails and says why,
    //    before any transaction is sent.
    let (addr, seen) = stand_in(401);
    let run = run_suite(
        &[
            "eth",
            "--node",
            &node.enode,
            "--chain",
            &fixtures_chain,
            "--engineapi",
            &format!("http://{addr}"),
            "--jwtsecret",
            &secret_arg,
            "--run",
            "^Transaction/eth70$",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(run.code, Some(1));
    assert_eq!(run.with("fail"), ["Transaction/eth70"], "{}", run.stdout);
    let m = run.message("Transaction/eth70");
    assert!(m.contains("Engine API") && m.contains("401"), "{m}");
    assert_eq!(seen.try_iter().count(), 1);
    let _ = std::fs::remove_file(&secret_file);
}

/// A secret file that is not 32 bytes of hex, or --engineapi alone: one line, exit 1, no dial.
#[test]
fn bad_engine_arguments_are_one_line_errors() {
    let chain = fixture_path("chain").display().to_string();
    let key = ethpeer::crypto::SecretKey::from_bytes(&[7; 32]).unwrap();
    let id = ethpeer::crypto::hex(&key.public_key().to_bytes());
    let node = format!("enode://{id}@127.0.0.1:1");
    let bad_secret = std::env::temp_dir().join(format!("ethpeer-badjwt-{}", std::process::id()));
    std::fs::write(&bad_secret, "0x1234\n").unwrap();
    let bad = bad_secret.display().to_string();
    for (args, says) in [
        (
            vec!["--engineapi", "http://127.0.0.1:1"],
            "--engineapi needs --jwtsecret",
        ),
        (
            vec!["--engineapi", "https://127.0.0.1:1", "--jwtsecret", &bad],
            "only http://",
        ),
        (
            vec!["--engineapi", "http://127.0.0.1:1", "--jwtsecret", &bad],
            "not a 32-byte hex JWT secret",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ethpeer"))
            .args(["test", "eth", "--node", &node, "--chain", &chain])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let _ = std::fs::remove_file(&bad_secret);
}
