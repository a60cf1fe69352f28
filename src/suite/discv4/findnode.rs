//! The FindNode, ENRRequest and amplification tests (devp2p discv4.md "Endpoint Proof",
//! "FindNode Packet", EIP-868; go-ethereum v4test `FindnodeWithoutEndpointProof`,
//! `BasicFindnode`, `UnsolicitedNeighbors`, `FindnodePastExpiration`, `ENRRequest`,
//! `FindnodeAmplificationInvalidPongHash`, `FindnodeAmplificationWrongIP`): the node answers
//! FindNode and ENRRequest only from an address that proved itself by answering its Ping with
//! the right hash; Neighbors nobody asked for change nothing.

use super::env::{Env, future, past};
use crate::crypto::{SecretKey, hex, os_random};
use crate::discv4::packet::{EnrRequest, FindNode, Neighbors, Node, Packet, Pong};
use crate::suite::runner::{Stop, TestResult};

fn random_target() -> [u8; 64] {
    let mut t = [0u8; 64];
    os_random(&mut t);
    t
}

fn find_node(target: [u8; 64], expiration: u64) -> Packet {
    Packet::FindNode(FindNode { target, expiration })
}

/// The next packet on l1 that is not a Ping or FindNode of the node's own.
fn reply(env: &Env) -> Result<Option<Packet>, Stop> {
    loop {
        match env.read(&env.l1)? {
            None => return Ok(None),
            Some(d) => match d.packet {
                Packet::Ping(_) | Packet::FindNode(_) => continue,
                other => return Ok(Some(other)),
            },
        }
    }
}

pub fn without_endpoint_proof(env: &Env) -> TestResult {
    env.send(&env.l1, &find_node(random_target(), future()))?;
    match reply(env)? {
        None => Ok(()),
        Some(p) => Err(Stop::fail(format!(
            "expected no reply to FindNode before the endpoint proof, got {}",
            p.name()
        ))),
    }
}

pub fn basic_findnode(env: &Env) -> TestResult {
    env.bond()?;
    env.send(&env.l1, &find_node(random_target(), future()))?;
    match reply(env)? {
        Some(Packet::Neighbors(_)) => Ok(()),
        Some(p) => Err(Stop::fail(format!("expected Neighbors, got {}", p.name()))),
        None => Err(Stop::fail("no Neighbors after FindNode from a bonded node")),
    }
}

pub fn unsolicited_neighbors(env: &Env) -> TestResult {
    env.bond()?;
    let fake = SecretKey::generate(os_random).public_key();
    env.send(
        &env.l1,
        &Packet::Neighbors(Neighbors {
            nodes: vec![Node {
                ip: [1, 2, 3, 4].into(),
                udp: 30303,
                tcp: 30303,
                id: fake,
            }],
            expiration: future(),
        }),
    )?;
    env.send(&env.l1, &find_node(fake.to_bytes(), future()))?;
    match reply(env)? {
        Some(Packet::Neighbors(n)) => {
            if n.nodes.iter().any(|node| node.id == fake) {
                return Err(Stop::fail(format!(
                    "Neighbors contains node {} from an earlier unsolicited Neighbors",
                    hex(&fake.node_id().0[..8])
                )));
            }
            Ok(())
        }
        Some(p) => Err(Stop::fail(format!("expected Neighbors, got {}", p.name()))),
        None => Err(Stop::fail("no Neighbors after FindNode from a bonded node")),
    }
}

pub fn past_expiration(env: &Env) -> TestResult {
    env.bond()?;
    env.send(&env.l1, &find_node(random_target(), past()))?;
    match reply(env)? {
        Some(Packet::Neighbors(_)) => {
            Err(Stop::fail("unexpected Neighbors for an expired FindNode"))
        }
        _ => Ok(()),
    }
}

pub fn enr_request(env: &Env) -> TestResult {
    env.bond()?;
    let hash = env.send(
        &env.l1,
        &Packet::EnrRequest(EnrRequest {
            expiration: future(),
        }),
    )?;
    let resp = match reply(env)? {
        Some(Packet::EnrResponse(r)) => r,
        Some(p) => {
            return Err(Stop::fail(format!(
                "expected ENRResponse, got {}",
                p.name()
            )));
        }
        None => return Err(Stop::fail("no ENRResponse")),
    };
    if resp.request_hash != hash {
        return Err(Stop::fail(format!(
            "wrong hash in ENRResponse: got 0x{}, want 0x{}",
            hex(&resp.request_hash),
            hex(&hash)
        )));
    }
    if resp.record.public_key() != Some(env.remote.id) {
        return Err(Stop::fail("the record in ENRResponse is not the node's"));
    }
    Ok(())
}

/// The node's Ping answered with a Pong whose reply token is zero: no proof, so no Neighbors.
pub fn invalid_pong_hash(env: &Env) -> TestResult {
    env.send(&env.l1, &Packet::Ping(env.ping(&env.l1)))?;
    let (mut got_ping, mut got_pong) = (false, false);
    while !(got_ping && got_pong) {
        let d = env.expect(&env.l1, "Ping and Pong")?;
        match d.packet {
            Packet::Ping(_) => {
                env.send(
                    &env.l1,
                    &Packet::Pong(Pong {
                        to: env.remote_endpoint(),
                        ping_hash: [0; 32],
                        expiration: future(),
                        enr_seq: None,
                    }),
                )?;
                got_ping = true;
            }
            Packet::Pong(_) => got_pong = true,
            _ => {}
        }
    }
    env.send(&env.l1, &find_node(random_target(), future()))?;
    match reply(env)? {
        Some(Packet::Neighbors(_)) => Err(Stop::fail(
            "got Neighbors after a Pong with the wrong reply token",
        )),
        _ => Ok(()),
    }
}

/// Bonded from l1, the same key asks from l2: nothing goes to l2.
pub fn wrong_ip(env: &Env) -> TestResult {
    env.bond()?;
    env.send(&env.l2, &find_node(random_target(), future()))?;
    match env.read(&env.l2)? {
        None => Ok(()),
        Some(d) => Err(Stop::fail(format!(
            "got {} for FindNode from an address that gave no endpoint proof",
            d.packet.name()
        ))),
    }
}
