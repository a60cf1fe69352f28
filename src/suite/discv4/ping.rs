//! The Ping tests (devp2p discv4.md "Ping Packet", EIP-8 "forward compatibility"; go-ethereum
//! v4test `BasicPing`, `PingWrongTo`, `PingWrongFrom`, `PingExtraData`, `PingExtraDataWrongFrom`,
//! `PingPastExpiration`, `WrongPacketType`, `BondThenPingWithWrongFrom`): a Ping is answered by a
//! Pong naming the address it came from and by a Ping back, whatever its `from` and `to` say and
//! whatever follows its fields; an expired Ping or an unknown packet type gets nothing.

use std::net::{IpAddr, Ipv4Addr};

use rlp::RlpStream;

use super::env::{Env, past};
use crate::discv4::packet::{Endpoint, Packet, Ping};
use crate::suite::runner::{Stop, TestResult};

/// An address of TEST-NET-1 (RFC 5737): no node is there.
const WRONG: Endpoint = Endpoint {
    ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 0))),
    udp: 0,
    tcp: 0,
};

/// An unknown packet type (go-ethereum's `wrongPacket`).
const WRONG_PACKET_TYPE: u8 = 66;

/// The node answers with exactly one Pong (for `hash`, naming l1) and one Ping, in any order.
fn check_ping_pong(env: &Env, hash: &[u8; 32]) -> TestResult {
    let (mut pings, mut pongs) = (0, 0);
    for _ in 0..2 {
        let d = env.expect(&env.l1, "Pong and Ping")?;
        match d.packet {
            Packet::Pong(_) => {
                env.check_pong(&env.l1, &d, hash)?;
                pongs += 1;
            }
            Packet::Ping(_) => pings += 1,
            other => {
                return Err(Stop::fail(format!(
                    "expected Ping or Pong, got {}",
                    other.name()
                )));
            }
        }
    }
    if (pings, pongs) != (1, 1) {
        return Err(Stop::fail(format!(
            "expected 1 Ping (got {pings}) and 1 Pong (got {pongs})"
        )));
    }
    Ok(())
}

fn ping_with(env: &Env, edit: impl FnOnce(&mut Ping)) -> TestResult {
    let mut p = env.ping(&env.l1);
    edit(&mut p);
    let hash = env.send(&env.l1, &Packet::Ping(p))?;
    check_ping_pong(env, &hash)
}

pub fn basic(env: &Env) -> TestResult {
    ping_with(env, |_| {})
}

pub fn wrong_to(env: &Env) -> TestResult {
    ping_with(env, |p| p.to = WRONG)
}

pub fn wrong_from(env: &Env) -> TestResult {
    ping_with(env, |p| p.from = WRONG)
}

/// A Ping's packet-data with two more list elements (42 and nine bytes), as a later version might
/// send.
fn with_junk(p: Ping) -> Vec<u8> {
    let data = Packet::Ping(p).encode_data();
    let list = rlp::Rlp::new(&data);
    let items: Vec<&[u8]> = list.iter().map(|i| i.as_raw()).collect();
    let mut s = RlpStream::new_list(items.len() + 2);
    for i in items {
        s.append_raw(i, 1);
    }
    s.append(&42u64);
    s.append(&&[9u8, 8, 7, 6, 5, 4, 3, 2, 1][..]);
    s.out().to_vec()
}

pub fn extra_data(env: &Env) -> TestResult {
    let hash = env.send_raw(&env.l1, 0x01, &with_junk(env.ping(&env.l1)))?;
    check_ping_pong(env, &hash)
}

pub fn extra_data_wrong_from(env: &Env) -> TestResult {
    let mut p = env.ping(&env.l1);
    p.from = WRONG;
    let hash = env.send_raw(&env.l1, 0x01, &with_junk(p))?;
    check_ping_pong(env, &hash)
}

/// Silence is the only right answer.
fn no_reply(env: &Env, after: &str) -> TestResult {
    match env.read(&env.l1)? {
        None => Ok(()),
        Some(d) => Err(Stop::fail(format!(
            "expected no reply to {after}, got {}",
            d.packet.name()
        ))),
    }
}

pub fn past_expiration(env: &Env) -> TestResult {
    let mut p = env.ping(&env.l1);
    p.expiration = past();
    env.send(&env.l1, &Packet::Ping(p))?;
    no_reply(env, "a Ping that expired")
}

pub fn wrong_packet_type(env: &Env) -> TestResult {
    let data = Packet::Ping(env.ping(&env.l1)).encode_data();
    env.send_raw(&env.l1, WRONG_PACKET_TYPE, &data)?;
    no_reply(env, "a packet of type 66")
}

/// After the endpoint proof, a Ping with a wrong `from` is still answered (FindNode from the node
/// on the way is fine).
pub fn bond_then_ping_with_wrong_from(env: &Env) -> TestResult {
    env.bond()?;
    let mut p = env.ping(&env.l1);
    p.from = WRONG;
    let hash = env.send(&env.l1, &Packet::Ping(p))?;
    loop {
        let d = env.expect(&env.l1, "Pong")?;
        match d.packet {
            Packet::Pong(_) => return env.check_pong(&env.l1, &d, &hash),
            Packet::FindNode(_) => continue,
            other => {
                return Err(Stop::fail(format!("expected Pong, got {}", other.name())));
            }
        }
    }
}
