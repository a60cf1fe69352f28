//! The Engine API client of `ethpeer test eth --engineapi URL --jwtsecret FILE`
//! (ethereum/execution-apis `src/engine/authentication.md` for the token,
//! `paris.md`/`shanghai.md`/`cancun.md` for `engine_forkchoiceUpdatedV1..3`). A post-merge client
//! only accepts transactions once its consensus side has named a head; before each transaction
//! test the suite names the chain dir's head as head, safe and finalized block, as go-ethereum's
//! ethtest does. The request is the chain dir's `headfcu.json` when it has one (geth's layout),
//! otherwise one built from the head. HTTP is hyper's client; only `http://` is spoken (the
//! Engine API is a local port).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;

use super::chain::TestChain;
use crate::crypto::hex;

/// How long one Engine API call may take, connection included: a local call answers in
/// milliseconds; a client still starting gets a few seconds.
pub const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest Engine API reply read: a forkchoiceUpdated answer is a few hundred bytes.
pub const ENGINE_REPLY_MAX: usize = 1 << 20;

/// The largest `headfcu.json` sent as is.
pub const FCU_FILE_MAX: u64 = 64 << 10;

/// A client of one node's Engine API, holding the request it sends.
#[derive(Debug, Clone)]
pub struct EngineClient {
    addr: SocketAddr,
    host: String,
    path: String,
    secret: [u8; 32],
    body: String,
}

impl EngineClient {
    /// The client of `url`, authenticated by the hex secret in `secret_file`, naming the head of
    /// `chain` (from `chain_dir/headfcu.json` when present).
    pub fn new(
        url: &str,
        secret_file: &Path,
        chain: &TestChain,
        chain_dir: &Path,
    ) -> Result<EngineClient, String> {
        let (host, path) = split_url(url)?;
        let addr = host
            .to_socket_addrs()
            .map_err(|e| format!("--engineapi {url}: {e}"))?
            .next()
            .ok_or_else(|| format!("--engineapi {url}: the host has no address"))?;
        let secret = read_secret(secret_file)?;
        let fcu = chain_dir.join("headfcu.json");
        let body = match fcu.exists() {
            true => read_small(&fcu)?,
            false => forkchoice_body(chain),
        };
        Ok(EngineClient {
            addr,
            host,
            path,
            secret,
            body,
        })
    }

    /// Sends the forkchoice update; an HTTP error, a JSON-RPC error or an INVALID status is an
    /// error naming it. `iat` is the token's issue time (unix seconds).
    pub fn forkchoice_updated(&self, iat: u64) -> Result<(), String> {
        let token = jwt(&self.secret, iat);
        let reply = async_io::block_on(futures_lite::future::or(self.post(token), async {
            async_io::Timer::after(ENGINE_TIMEOUT).await;
            Err(format!("no answer within {} s", ENGINE_TIMEOUT.as_secs()))
        }))
        .map_err(|e| format!("Engine API {}: {e}", self.addr))?;
        check_reply(&reply).map_err(|e| format!("Engine API {}: {e}", self.addr))
    }

    async fn post(&self, token: String) -> Result<Vec<u8>, String> {
        let stream = async_net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(smol_hyper::rt::FuturesIo::new(stream))
                .await
                .map_err(|e| format!("HTTP: {e}"))?;
        let request = hyper::Request::post(&self.path)
            .header(hyper::header::HOST, &self.host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(Bytes::from(self.body.clone())))
            .map_err(|e| format!("request: {e}"))?;
        let exchange = async {
            let resp = sender
                .send_request(request)
                .await
                .map_err(|e| format!("HTTP: {e}"))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), ENGINE_REPLY_MAX)
                .collect()
                .await
                .map_err(|e| format!("reading the reply: {e}"))?
                .to_bytes();
            if !status.is_success() {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                return Err(format!("HTTP {status}: {}", text.trim()));
            }
            Ok(body.to_vec())
        };
        futures_lite::future::or(exchange, async {
            match conn.await {
                Ok(()) => Err("the connection closed before the reply".to_string()),
                Err(e) => Err(format!("HTTP: {e}")),
            }
        })
        .await
    }
}

/// `http://host:port/path` → (`host:port`, `/path`).
fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!(
            "--engineapi {url}: only http:// URLs are supported (the Engine API is a local port)"
        )
    })?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() {
        return Err(format!("--engineapi {url}: no host"));
    }
    let host = if host.ends_with(']') || !host.contains(':') {
        format!("{host}:80")
    } else {
        match host.rsplit_once(':') {
            Some((h, port)) if !h.is_empty() && port.parse::<u16>().is_ok() => host.to_string(),
            _ => return Err(format!("--engineapi {url}: bad host or port")),
        }
    };
    Ok((host, path.to_string()))
}

/// The JWT secret file: 32 bytes in hex, `0x` optional, surrounding whitespace ignored.
fn read_secret(path: &Path) -> Result<[u8; 32], String> {
    let text = read_small(path)?;
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    crate::crypto::unhex(text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| format!("{}: not a 32-byte hex JWT secret", path.display()))
}

fn read_small(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    f.take(FCU_FILE_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if text.len() as u64 > FCU_FILE_MAX {
        return Err(format!(
            "{}: larger than {FCU_FILE_MAX} bytes",
            path.display()
        ));
    }
    Ok(text)
}

/// An HS256 token with only the `iat` claim (authentication.md: the one required claim).
pub fn jwt(secret: &[u8; 32], iat: u64) -> String {
    use hmac::{KeyInit, Mac};
    let b64 = crate::enr::base64::encode;
    let signed = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(format!(r#"{{"iat":{iat}}}"#).as_bytes())
    );
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(signed.as_bytes());
    format!("{signed}.{}", b64(&mac.finalize().into_bytes()))
}

/// `engine_forkchoiceUpdatedV{1,2,3}` naming the head as head, safe and finalized block; the
/// version is the one of the fork active at the head (V3 from Cancun on).
pub fn forkchoice_body(chain: &TestChain) -> String {
    let head = chain.head();
    let version = match chain.spec.time_fork_at(head.time) {
        None => 1,
        Some("shanghai") => 2,
        Some(_) => 3,
    };
    let hash = format!("0x{}", hex(&head.hash));
    let state = serde_json::json!({
        "headBlockHash": hash,
        "safeBlockHash": hash,
        "finalizedBlockHash": hash,
    });
    let params = match version {
        1 | 2 => serde_json::json!([state]),
        _ => serde_json::json!([state, null]),
    };
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": format!("engine_forkchoiceUpdatedV{version}"),
        "params": params,
    })
    .to_string()
}

/// A JSON-RPC error or an INVALID payload status is an error; other statuses (VALID, SYNCING,
/// ACCEPTED) are the client's to act on.
fn check_reply(body: &[u8]) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("reply is not JSON: {e}"))?;
    if let Some(e) = v.get("error") {
        return Err(format!("error reply: {e}"));
    }
    let result = v
        .get("result")
        .ok_or_else(|| "reply has neither result nor error".to_string())?;
    match result
        .pointer("/payloadStatus/status")
        .and_then(|s| s.as_str())
    {
        Some(s) if s.starts_with("INVALID") => Err(format!("the head is {s}: {result}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8551").unwrap(),
            ("127.0.0.1:8551".into(), "/".into())
        );
        assert_eq!(
            split_url("http://localhost/engine").unwrap(),
            ("localhost:80".into(), "/engine".into())
        );
        assert!(split_url("https://127.0.0.1:8551").is_err());
        assert!(split_url("http://:1").is_err());
        assert!(split_url("http://h:x").is_err());
    }

    /// The token of execution-apis' example: header and claims as base64url, HMAC-SHA256 over
    /// both with the secret, checked here by recomputing the MAC independently of `jwt`.
    #[test]
    fn the_token_is_hs256_over_header_and_iat() {
        use hmac::{KeyInit, Mac};
        let secret = [0x11; 32];
        let t = jwt(&secret, 1_700_000_000);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = crate::enr::base64::decode(parts[1]).unwrap();
        assert_eq!(claims, br#"{"iat":1700000000}"#);
        let header = crate::enr::base64::decode(parts[0]).unwrap();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], "HS256");
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&secret).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        assert_eq!(
            crate::enr::base64::decode(parts[2]).unwrap(),
            mac.finalize().into_bytes().to_vec()
        );
        assert_ne!(jwt(&[0x12; 32], 1_700_000_000), t);
    }

    #[test]
    fn replies_are_judged() {
        assert!(
            check_reply(
                br#"{"jsonrpc":"2.0","id":1,"result":{"payloadStatus":{"status":"VALID"}}}"#
            )
            .is_ok()
        );
        assert!(
            check_reply(
                br#"{"jsonrpc":"2.0","id":1,"result":{"payloadStatus":{"status":"SYNCING"}}}"#
            )
            .is_ok()
        );
        let e = check_reply(
            br#"{"jsonrpc":"2.0","id":1,"result":{"payloadStatus":{"status":"INVALID"}}}"#,
        )
        .unwrap_err();
        assert!(e.contains("INVALID"), "{e}");
        let e = check_reply(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x"}}"#)
            .unwrap_err();
        assert!(e.contains("-32000"), "{e}");
        assert!(check_reply(b"<html>").is_err());
    }
}
