//! The handshake tests (devp2p caps/eth.md "Status", EIP-7642 "BlockRangeUpdate"; go-ethereum
//! ethtest `TestStatus`, `TestMaliciousHandshake`, `TestBlockRangeUpdate*`): the node's Status
//! names the chain's genesis, head and fork id; a malformed Hello ends the session; a block range
//! that ends before it starts ends the session; one that is in the future or starts late does not.

use std::thread::sleep;
use std::time::Duration;

use rlp::RlpStream;

use super::Ctx;
use super::conn::{Conn, ConnError};
use crate::crypto::{SecretKey, os_random};
use crate::eth::{BlockRangeUpdate, EthMessage};
use crate::p2p;
use crate::suite::runner::{Stop, TestResult};

/// Peers and leaves (go-ethereum: "a sanity check").
pub fn status(ctx: &Ctx) -> TestResult {
    ctx.dial_and_peer()?.close();
    Ok(())
}

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    os_random(&mut b);
    b
}

/// A Hello with a raw capability name and a raw id, as no honest client builds it.
fn bad_hello(cap_name: &[u8], version: u32, id: &[u8]) -> Vec<u8> {
    let mut s = RlpStream::new_list(5);
    s.append(&p2p::P2P_VERSION);
    s.append(&"malicious");
    s.begin_list(1);
    s.begin_list(2);
    s.append(&cap_name);
    s.append(&version);
    s.append(&0u16);
    s.append(&id);
    s.out().to_vec()
}

/// Five malformed Hellos (a 2 KiB capability name; an id one byte long, twice as long, 2 KiB of
/// noise; both faults at once): after each, the node must end the session, by Disconnect or by
/// closing; its own Hello may come first. Stricter than go-ethereum's, which also lets a node
/// that stays silent pass.
pub fn malicious_handshake(ctx: &Ctx) -> TestResult {
    let key = SecretKey::generate(os_random);
    let pub0 = key.public_key().to_bytes().to_vec();
    let version = ctx.version.number();
    let hellos = [
        (
            "a 2 KiB capability name",
            bad_hello(&random(2048), version, &pub0),
        ),
        (
            "an id one byte too long",
            bad_hello(b"eth", version, &[&pub0[..], &[0]].concat()),
        ),
        (
            "an id twice as long",
            bad_hello(b"eth", version, &[&pub0[..], &pub0[..]].concat()),
        ),
        (
            "an id of 2 KiB noise",
            bad_hello(b"eth", version, &random(2048)),
        ),
        (
            "a 2 KiB name and a 2 KiB id",
            bad_hello(&random(2048), version, &random(2048)),
        ),
    ];
    for (what, hello) in hellos {
        let mut conn = Conn::dial_as(ctx.suite.addr, ctx.suite.remote, key.clone(), ctx.version)
            .map_err(|e| Stop::fail(format!("dial failed: {e}")))?;
        conn.write_frame(p2p::HELLO_ID, &hello)?;
        let mut ended = false;
        for _ in 0..2 {
            match conn.read_frame() {
                Ok(f) if f.code == p2p::HELLO_ID => continue,
                Ok(f) if f.code == p2p::DISCONNECT_ID => {
                    ended = true;
                    break;
                }
                Ok(f) => {
                    return Err(Stop::fail(format!(
                        "after a Hello with {what}: unexpected message {:#x}",
                        f.code
                    )));
                }
                Err(ConnError::Timeout) => break,
                Err(_) => {
                    ended = true;
                    break;
                }
            }
        }
        if !ended {
            return Err(Stop::fail(format!(
                "after a Hello with {what} the node kept the session open"
            )));
        }
    }
    Ok(())
}

fn needs_block_range(ctx: &Ctx) -> TestResult {
    if ctx.version.has_block_range() {
        Ok(())
    } else {
        Err(Stop::Skip(format!(
            "BlockRangeUpdate is eth/69 and later; this is eth/{}",
            ctx.version.number()
        )))
    }
}

/// After `update`, the session must stay: ten Pings, 100 ms apart, each read without a
/// Disconnect.
fn stays_connected(ctx: &Ctx, update: BlockRangeUpdate) -> TestResult {
    needs_block_range(ctx)?;
    let mut conn = ctx.dial_and_peer()?;
    conn.send(&EthMessage::BlockRangeUpdate(update))?;
    for i in 0..10 {
        sleep(Duration::from_millis(100));
        conn.ping()?;
        conn.read_next()
            .map_err(|e| Stop::fail(format!("after the BlockRangeUpdate, ping {}: {e}", i + 1)))?;
    }
    conn.close();
    Ok(())
}

/// A range whose history starts ten blocks before the head (expired history) is accepted.
pub fn block_range_update_expired(ctx: &Ctx) -> TestResult {
    let head = ctx.chain().head();
    stays_connected(
        ctx,
        BlockRangeUpdate {
            earliest: head.number.saturating_sub(10),
            latest: head.number,
            latest_hash: head.hash,
        },
    )
}

/// A range beyond our head, with a hash we do not know, is accepted.
pub fn block_range_update_future(ctx: &Ctx) -> TestResult {
    let head = ctx.chain().head().number;
    let mut hash = [0u8; 32];
    os_random(&mut hash);
    stays_connected(
        ctx,
        BlockRangeUpdate {
            earliest: head + 10,
            latest: head + 50,
            latest_hash: hash,
        },
    )
}

/// A range that ends before it starts must end the session with a Disconnect.
pub fn block_range_update_invalid(ctx: &Ctx) -> TestResult {
    needs_block_range(ctx)?;
    let mut conn = ctx.dial_and_peer()?;
    let eight = ctx
        .chain()
        .blocks
        .get(8)
        .map(|b| b.hash)
        .unwrap_or_default();
    conn.send(&EthMessage::BlockRangeUpdate(BlockRangeUpdate {
        earliest: 10,
        latest: 8,
        latest_hash: eight,
    }))?;
    loop {
        match conn.read_eth_raw() {
            // Messages the node sent before it read ours (its own range, announcements).
            Ok(_) => continue,
            Err(ConnError::Disconnected(_)) => return Ok(()),
            Err(e) => {
                return Err(Stop::fail(format!(
                    "expected a Disconnect after an inverted block range (10..8), got: {e}"
                )));
            }
        }
    }
}
