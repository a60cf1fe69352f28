//! The header request tests (devp2p caps/eth.md "GetBlockHeaders", request ids since eth/66;
//! go-ethereum ethtest `TestGetBlockHeaders`, `TestGetNonexistentBlockHeaders`,
//! `TestSimultaneousRequests`, `TestSameRequestID`, `TestZeroRequestID`): every reply carries the
//! request's id and exactly the headers of the chain, byte for byte; requests for blocks that do
//! not exist are not a reason to disconnect.

use std::collections::BTreeMap;

use super::Ctx;
use super::conn::{Conn, ConnError};
use crate::crypto::hex;
use crate::eth::{BlockOrigin, EthMessage, GetBlockHeaders, RawResponse};
use crate::suite::runner::{Stop, TestResult};

fn request(id: u64, origin: BlockOrigin, amount: u64, skip: u64) -> GetBlockHeaders {
    GetBlockHeaders {
        request_id: id,
        origin,
        amount,
        skip,
        reverse: false,
    }
}

/// The next BlockHeaders reply (other messages passed over).
fn read_headers(conn: &mut Conn) -> Result<RawResponse, Stop> {
    conn.read_until(super::conn::READ_TIMEOUT, |m| match m {
        EthMessage::BlockHeaders(r) => Some(r),
        _ => None,
    })
    .map_err(|e| Stop::fail(format!("reading BlockHeaders: {e}")))
}

/// The reply must hold exactly the chain's headers for `req`.
pub fn check_headers(ctx: &Ctx, req: &GetBlockHeaders, resp: &RawResponse) -> TestResult {
    let want = ctx
        .chain()
        .headers(req)
        .map_err(|e| Stop::fail(format!("the test chain cannot answer {req:?}: {e}")))?;
    let got: Vec<&[u8]> = resp.items.iter().collect();
    if got.len() != want.len() {
        return Err(Stop::fail(format!(
            "header mismatch for request id {}: expected {} headers, got {}",
            resp.request_id,
            want.len(),
            got.len()
        )));
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if g != w {
            return Err(Stop::fail(format!(
                "header mismatch for request id {}: header {i} is 0x{}…, expected 0x{}…",
                resp.request_id,
                hex(&g[..g.len().min(48)]),
                hex(&w[..w.len().min(48)])
            )));
        }
    }
    Ok(())
}

fn check_id(got: u64, want: u64) -> TestResult {
    if got != want {
        return Err(Stop::fail(format!(
            "unexpected request id in BlockHeaders: got {got}, want {want}"
        )));
    }
    Ok(())
}

/// Two headers from block 1 by hash, skipping one: ids and headers must match.
pub fn get_block_headers(ctx: &Ctx) -> TestResult {
    let mut conn = ctx.dial_and_peer()?;
    let one = ctx
        .chain()
        .blocks
        .get(1)
        .ok_or(Stop::Skip("the chain has no block 1".into()))?;
    let req = request(33, BlockOrigin::Hash(one.hash), 2, 1);
    conn.send(&EthMessage::GetBlockHeaders(req))?;
    let resp = read_headers(&mut conn)?;
    check_id(resp.request_id, req.request_id)?;
    check_headers(ctx, &req, &resp)?;
    conn.close();
    Ok(())
}

/// Ten requests for block 2^64 - 1: the node answers (empty) and stays connected.
pub fn get_nonexistent_block_headers(ctx: &Ctx) -> TestResult {
    let mut conn = ctx.dial_and_peer()?;
    for i in 0..10 {
        let req = request(i, BlockOrigin::Number(u64::MAX), 1, 0);
        conn.send(&EthMessage::GetBlockHeaders(req)).map_err(|e| {
            Stop::fail(format!(
                "the node disconnected after {} requests: {e}",
                i + 1
            ))
        })?;
    }
    match conn.read_next() {
        Err(ConnError::Disconnected(r)) => Err(Stop::fail(format!(
            "the node disconnected after requests for a nonexistent block: {r}"
        ))),
        Err(ConnError::Closed) => Err(Stop::fail(
            "the node closed the connection after requests for a nonexistent block",
        )),
        _ => {
            conn.close();
            Ok(())
        }
    }
}

/// Reads `n` BlockHeaders replies, keyed by `identity`; a duplicate key fails.
fn collect(
    conn: &mut Conn,
    n: usize,
    identity: impl Fn(&RawResponse) -> Result<u64, Stop>,
) -> Result<BTreeMap<u64, RawResponse>, Stop> {
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let r = read_headers(conn)?;
        let key = identity(&r)?;
        if out.insert(key, r).is_some() {
            return Err(Stop::fail(format!("duplicate response for {key}")));
        }
    }
    Ok(out)
}

/// Two requests in flight with different ids: both answered, each with its own id and headers.
pub fn simultaneous_requests(ctx: &Ctx) -> TestResult {
    let mut conn = ctx.dial_and_peer()?;
    let one = ctx
        .chain()
        .blocks
        .get(1)
        .ok_or(Stop::Skip("the chain has no block 1".into()))?;
    let req1 = request(111, BlockOrigin::Hash(one.hash), 2, 1);
    let req2 = request(222, BlockOrigin::Hash(one.hash), 4, 1);
    conn.send(&EthMessage::GetBlockHeaders(req1))?;
    conn.send(&EthMessage::GetBlockHeaders(req2))?;
    let resp = collect(&mut conn, 2, |r| match r.request_id {
        111 | 222 => Ok(r.request_id),
        other => Err(Stop::fail(format!(
            "response with unknown request id {other} (sent 111 and 222)"
        ))),
    })?;
    check_headers(ctx, &req1, &resp[&111])?;
    check_headers(ctx, &req2, &resp[&222])?;
    conn.close();
    Ok(())
}

/// Two requests with the same id: both answered (told apart by their lengths).
pub fn same_request_id(ctx: &Ctx) -> TestResult {
    let mut conn = ctx.dial_and_peer()?;
    let req1 = request(1234, BlockOrigin::Number(1), 2, 0);
    let req2 = request(1234, BlockOrigin::Number(33), 3, 0);
    conn.send(&EthMessage::GetBlockHeaders(req1))?;
    conn.send(&EthMessage::GetBlockHeaders(req2))?;
    let resp = collect(&mut conn, 2, |r| {
        check_id(r.request_id, 1234)?;
        match r.items.len() {
            n @ (2 | 3) => Ok(n as u64),
            n => Err(Stop::fail(format!(
                "invalid number of headers in response: {n} (asked for 2 and 3)"
            ))),
        }
    })?;
    check_headers(ctx, &req1, &resp[&2])?;
    check_headers(ctx, &req2, &resp[&3])?;
    conn.close();
    Ok(())
}

/// Request id 0 is an id like any other.
pub fn zero_request_id(ctx: &Ctx) -> TestResult {
    let mut conn = ctx.dial_and_peer()?;
    let req = request(0, BlockOrigin::Number(0), 2, 0);
    conn.send(&EthMessage::GetBlockHeaders(req))?;
    let resp = read_headers(&mut conn)?;
    check_id(resp.request_id, 0)?;
    check_headers(ctx, &req, &resp)?;
    conn.close();
    Ok(())
}
