//! The PING and TALKREQ tests (devp2p `discv5-wire.md` "PING Request", "PONG Response",
//! "TALKREQ Request", "TALKRESP Response"; `discv5-theory.md` "Handshake Steps", "Session
//! Cache"; go-ethereum v5test `TestPing`, `TestPingLargeRequestID`, `TestPingMultiIP`,
//! `TestHandshakeResend`, `TestTalkRequest`): a PING is answered by a PONG mirroring its request
//! id and naming the address it came from; a request id over eight bytes gets nothing; a session
//! belongs to the endpoint its handshake ran from, so the same keys from another address draw a
//! WHOAREYOU; a challenge is resent unchanged while the handshake it asks for is pending; a
//! TALKREQ for an unknown protocol is answered by an empty TALKRESP with the same request id.

use std::net::UdpSocket;

use rlp::RlpStream;

use super::Env;
use super::conn::{Conn, Packet, WAIT, bind, local_addr};
use crate::crypto::hex;
use crate::discv5::message::{Message, REQUEST_ID_SIZE_MAX, RequestId, TYPE_PING};
use crate::suite::runner::{Stop, TestResult};

/// The protocol name of the TALKREQ test (geth's): one no node serves.
const TALK_PROTOCOL: &[u8] = b"test-protocol";

fn ping_message(c: &mut Conn) -> Message {
    Message::Ping {
        id: c.next_request_id(),
        enr_seq: c.record.seq(),
    }
}

fn silence(what: &str) -> Stop {
    Stop::fail(format!("no {what} within {} ms", WAIT.as_millis()))
}

/// The answer is a PONG for request `want` naming `sock`'s address (geth's `checkPong`).
fn check_pong(answer: Option<Packet>, want: &RequestId, sock: &UdpSocket) -> TestResult {
    let Some(p) = answer else {
        return Err(silence("PONG"));
    };
    let Packet::Message(Message::Pong { id, ip, port, .. }) = p else {
        return Err(Stop::fail(format!("expected PONG, got {}", p.name())));
    };
    if &id != want {
        return Err(Stop::fail(format!(
            "wrong request ID {} in PONG, want {}",
            hex(id.as_bytes()),
            hex(want.as_bytes())
        )));
    }
    let local = local_addr(sock)?;
    if ip != local.ip() {
        return Err(Stop::fail(format!(
            "wrong destination IP {ip} in PONG, want {}",
            local.ip()
        )));
    }
    if port != local.port() {
        return Err(Stop::fail(format!(
            "wrong destination port {port} in PONG, want {}",
            local.port()
        )));
    }
    Ok(())
}

pub fn ping(env: &Env) -> TestResult {
    let l1 = bind(env.listen1, WAIT)?;
    let mut c = Conn::new(env.remote.clone())?;
    let m = ping_message(&mut c);
    let answer = c.request(&l1, &m.encode())?;
    check_pong(answer, m.id(), &l1)
}

/// A PING whose request id is nine zero bytes, one over the limit.
fn ping_with_long_id(enr_seq: u64) -> Vec<u8> {
    let mut s = RlpStream::new_list(2);
    s.append(&&[0u8; REQUEST_ID_SIZE_MAX + 1][..]);
    s.append(&enr_seq);
    let mut pt = vec![TYPE_PING];
    pt.extend_from_slice(&s.out());
    pt
}

pub fn ping_large_request_id(env: &Env) -> TestResult {
    let l1 = bind(env.listen1, WAIT)?;
    let mut c = Conn::new(env.remote.clone())?;
    // Stricter than geth's, which passes a node that stays silent throughout: the PING must
    // reach the node, so its first packet has to draw the challenge.
    let pt = ping_with_long_id(c.record.seq());
    let nonce = c.write_plaintext(&l1, env.remote.addr, &pt, None)?;
    match c.expect(&l1, "WHOAREYOU")? {
        (Packet::WhoAreYou(ch), from) if ch.nonce == nonce => {
            c.write_plaintext(&l1, from, &pt, Some(&ch))?;
        }
        (p, _) => {
            return Err(Stop::fail(format!(
                "expected WHOAREYOU for our first packet, got {}",
                p.name()
            )));
        }
    }
    match c.read(&l1)?.map(|(p, _)| p) {
        Some(Packet::Message(Message::Pong { id, .. })) => Err(Stop::fail(format!(
            "PONG response to a PING with a {}-byte request ID (PONG's is {})",
            REQUEST_ID_SIZE_MAX + 1,
            hex(id.as_bytes())
        ))),
        Some(Packet::BadMessage(e)) => Err(Stop::fail(format!(
            "response to a PING with an oversized request ID: {e}"
        ))),
        // Silence is right; geth's test lets anything else but a response pass too.
        _ => Ok(()),
    }
}

pub fn ping_multi_ip(env: &Env) -> TestResult {
    let l1 = bind(env.listen1, WAIT)?;
    let l2 = bind(env.listen2, WAIT)?;
    let (ip1, ip2) = (local_addr(&l1)?.ip(), local_addr(&l2)?.ip());
    let mut c = Conn::new(env.remote.clone())?;

    // The session, made from l1.
    let m = ping_message(&mut c);
    let answer = c.request(&l1, &m.encode())?;
    check_pong(answer, m.id(), &l1)?;

    // The same keys from l2 must not open: the node challenges.
    let m2 = ping_message(&mut c);
    let pt2 = m2.encode();
    c.write_plaintext(&l2, env.remote.addr, &pt2, None)?;
    match c.read(&l2)? {
        Some((Packet::Message(Message::Pong { .. }), _)) => {
            return Err(Stop::fail(format!(
                "the node answered PING from {ip2} in the session made from {ip1}"
            )));
        }
        Some((Packet::WhoAreYou(ch), from)) => {
            c.write_plaintext(&l2, from, &pt2, Some(&ch))?;
        }
        Some((p, _)) => {
            return Err(Stop::fail(format!(
                "expected WHOAREYOU for PING from {ip2}, got {}",
                p.name()
            )));
        }
        None => return Err(silence(&format!("WHOAREYOU for PING from {ip2}"))),
    }
    check_pong(c.read(&l2)?.map(|(p, _)| p), m2.id(), &l2)
        .map_err(|e| Stop::fail(format!("after the handshake from {ip2}: {}", msg(e))))?;

    // Back on l1 with the keys made from l2: challenged again.
    let m3 = ping_message(&mut c);
    c.write(&l1, &m3, None)?;
    match c.read(&l1)? {
        Some((Packet::WhoAreYou(_), _)) => Ok(()),
        Some((Packet::Message(Message::Pong { .. }), _)) => Err(Stop::fail(format!(
            "the node answered PING from {ip1} in the session made from {ip2}"
        ))),
        Some((p, _)) => Err(Stop::fail(format!(
            "expected WHOAREYOU for PING from {ip1} again, got {}",
            p.name()
        ))),
        None => Err(silence(&format!("WHOAREYOU for PING from {ip1} again"))),
    }
}

pub fn handshake_resend(env: &Env) -> TestResult {
    let l1 = bind(env.listen1, WAIT)?;
    let mut c = Conn::new(env.remote.clone())?;
    let m = ping_message(&mut c);
    let nonce = c.write(&l1, &m, None)?;
    let first = match c.expect(&l1, "WHOAREYOU")?.0 {
        Packet::WhoAreYou(ch) => ch,
        p => return Err(Stop::fail(format!("expected WHOAREYOU, got {}", p.name()))),
    };
    if first.nonce != nonce {
        return Err(Stop::fail(format!(
            "WHOAREYOU names nonce {}, not our PING's {}",
            hex(&first.nonce),
            hex(&nonce)
        )));
    }
    // A second ordinary packet instead of the handshake: the same challenge again.
    let m2 = ping_message(&mut c);
    c.write(&l1, &m2, None)?;
    match c.expect(&l1, "WHOAREYOU again")?.0 {
        Packet::WhoAreYou(again) => {
            if again.nonce != first.nonce {
                return Err(Stop::fail(format!(
                    "wrong nonce {} in the resent WHOAREYOU, want {}",
                    hex(&again.nonce),
                    hex(&first.nonce)
                )));
            }
            if again.challenge_data != first.challenge_data {
                return Err(Stop::fail(format!(
                    "the resent WHOAREYOU is another challenge: got {}, want {}",
                    hex(&again.challenge_data),
                    hex(&first.challenge_data)
                )));
            }
            Ok(())
        }
        p => Err(Stop::fail(format!(
            "expected WHOAREYOU again, got {}",
            p.name()
        ))),
    }
}

/// One TALKREQ for the unknown protocol: an empty TALKRESP with `id` must come back.
fn talk(c: &mut Conn, sock: &UdpSocket, id: RequestId) -> TestResult {
    let m = Message::TalkReq {
        id: id.clone(),
        protocol: TALK_PROTOCOL.to_vec(),
        request: Vec::new(),
    };
    match c.request(sock, &m.encode())? {
        Some(Packet::Message(Message::TalkResp { id: got, response })) => {
            if got != id {
                return Err(Stop::fail(format!(
                    "wrong request ID {} in TALKRESP, want {}",
                    hex(got.as_bytes()),
                    hex(id.as_bytes())
                )));
            }
            if !response.is_empty() {
                return Err(Stop::fail(format!(
                    "non-empty message {} in TALKRESP",
                    hex(&response)
                )));
            }
            Ok(())
        }
        Some(p) => Err(Stop::fail(format!("expected TALKRESP, got {}", p.name()))),
        None => Err(silence("TALKRESP")),
    }
}

pub fn talk_request(env: &Env) -> TestResult {
    let l1 = bind(env.listen1, WAIT)?;
    let mut c = Conn::new(env.remote.clone())?;
    let id = c.next_request_id();
    talk(&mut c, &l1, id)?;
    talk(&mut c, &l1, RequestId::default())
        .map_err(|e| Stop::fail(format!("with an empty request ID: {}", msg(e))))
}

/// The message of a stop.
pub fn msg(s: Stop) -> String {
    match s {
        Stop::Fail(m) | Stop::Skip(m) => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discv5::message::MessageError;

    #[test]
    fn the_long_id_ping_is_a_ping_but_for_its_nine_byte_id() {
        let pt = ping_with_long_id(7);
        assert_eq!(
            Message::decode(&pt),
            Err(MessageError::RequestIdTooLong(REQUEST_ID_SIZE_MAX + 1))
        );
        // The same bytes with an eight-byte id are a well-formed PING.
        let mut s = RlpStream::new_list(2);
        s.append(&&[0u8; REQUEST_ID_SIZE_MAX][..]);
        s.append(&7u64);
        let mut ok = vec![TYPE_PING];
        ok.extend_from_slice(&s.out());
        assert!(matches!(
            Message::decode(&ok),
            Ok(Message::Ping { enr_seq: 7, .. })
        ));
    }
}
