//! The discv4 tester's surroundings (go-ethereum `cmd/devp2p/internal/v4test/framework.go` plays
//! the same part): two UDP sockets on two local addresses (`--listen1`, `--listen2`), one key per
//! test, and packets built and read with the library's codec (`discv4::packet`). Every read waits
//! at most [`WAIT`]; a test that expects silence waits exactly that long.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::crypto::{PublicKey, SecretKey, os_random};
use crate::discv4::packet::{self, Decoded, EXPIRATION, Endpoint, Packet, Ping};
use crate::suite::runner::Stop;

/// How long a read waits for the node: go-ethereum's suite waits 300 ms; a loaded CI machine
/// gets more. Tests that expect no answer wait this long for nothing.
pub const WAIT: Duration = Duration::from_millis(1000);

/// The node under test, as `--remote` names it.
#[derive(Debug, Clone, Copy)]
pub struct Remote {
    pub id: PublicKey,
    pub addr: SocketAddr,
}

/// One test's sockets and key.
pub struct Env {
    pub l1: UdpSocket,
    pub l2: UdpSocket,
    pub key: SecretKey,
    pub remote: Remote,
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An expiration 20 s ahead.
pub fn future() -> u64 {
    packet::expiration_from(now())
}

/// An expiration 20 s ago.
pub fn past() -> u64 {
    now().saturating_sub(EXPIRATION)
}

impl Env {
    /// Binds both sockets on ephemeral ports and makes a fresh key.
    pub fn new(remote: Remote, listen1: IpAddr, listen2: IpAddr) -> Result<Env, Stop> {
        let bind = |ip: IpAddr| {
            let s = UdpSocket::bind((ip, 0))
                .map_err(|e| Stop::fail(format!("cannot listen on {ip}: {e}")))?;
            s.set_read_timeout(Some(WAIT))
                .map_err(|e| Stop::fail(format!("socket: {e}")))?;
            Ok::<_, Stop>(s)
        };
        Ok(Env {
            l1: bind(listen1)?,
            l2: bind(listen2)?,
            key: SecretKey::generate(os_random),
            remote,
        })
    }

    /// Our endpoint on `sock`, as a Ping's `from` states it (TCP port 0).
    pub fn local_endpoint(&self, sock: &UdpSocket) -> Endpoint {
        let addr = sock.local_addr().ok();
        Endpoint {
            ip: addr.map(|a| a.ip()),
            udp: addr.map_or(0, |a| a.port()),
            tcp: 0,
        }
    }

    /// The node's endpoint, as a Ping's `to` states it.
    pub fn remote_endpoint(&self) -> Endpoint {
        Endpoint {
            ip: Some(self.remote.addr.ip()),
            udp: self.remote.addr.port(),
            tcp: 0,
        }
    }

    /// A well-formed Ping from `sock`'s endpoint.
    pub fn ping(&self, sock: &UdpSocket) -> Ping {
        Ping {
            version: packet::PING_VERSION,
            from: self.local_endpoint(sock),
            to: self.remote_endpoint(),
            expiration: future(),
            enr_seq: None,
        }
    }

    /// Sends `p` from `sock`; returns its hash.
    pub fn send(&self, sock: &UdpSocket, p: &Packet) -> Result<[u8; 32], Stop> {
        self.send_raw(sock, p.packet_type(), &p.encode_data())
    }

    /// Sends any packet type and data, signed with our key; returns its hash.
    pub fn send_raw(&self, sock: &UdpSocket, ptype: u8, data: &[u8]) -> Result<[u8; 32], Stop> {
        let (bytes, hash) = packet::encode_raw(ptype, data, &self.key)
            .map_err(|e| Stop::fail(format!("cannot encode our packet: {e}")))?;
        sock.send_to(&bytes, self.remote.addr)
            .map_err(|e| Stop::fail(format!("cannot send to {}: {e}", self.remote.addr)))?;
        Ok(hash)
    }

    /// The next packet from the node on `sock`, or `None` when [`WAIT`] passes in silence.
    /// Datagrams from other addresses are passed over; one that does not decode fails the test.
    pub fn read(&self, sock: &UdpSocket) -> Result<Option<Decoded>, Stop> {
        let mut buf = [0u8; packet::PACKET_SIZE_MAX + 1];
        loop {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) if from == self.remote.addr => {
                    return packet::decode(&buf[..n])
                        .map(Some)
                        .map_err(|e| Stop::fail(format!("the node sent a bad packet: {e}")));
                }
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(Stop::fail(format!("socket error: {e}"))),
            }
        }
    }

    /// Like [`Env::read`], but silence fails the test (`what` names the awaited answer).
    pub fn expect(&self, sock: &UdpSocket, what: &str) -> Result<Decoded, Stop> {
        self.read(sock)?
            .ok_or_else(|| Stop::fail(format!("no {what} within {} ms", WAIT.as_millis())))
    }

    /// Checks a Pong answers `ping_hash` and names `sock`'s endpoint (go-ethereum `checkPong`).
    pub fn check_pong(
        &self,
        sock: &UdpSocket,
        d: &Decoded,
        ping_hash: &[u8; 32],
    ) -> Result<(), Stop> {
        let Packet::Pong(pong) = &d.packet else {
            return Err(Stop::fail(format!(
                "expected Pong, got {}",
                d.packet.name()
            )));
        };
        if &pong.ping_hash != ping_hash {
            return Err(Stop::fail(format!(
                "Pong reply token mismatch: got 0x{}, want 0x{}",
                crate::crypto::hex(&pong.ping_hash),
                crate::crypto::hex(ping_hash)
            )));
        }
        let want = self.local_endpoint(sock);
        if pong.to.ip != want.ip || pong.to.udp != want.udp {
            return Err(Stop::fail(format!(
                "Pong 'to' endpoint mismatch: got {:?}:{}, want {:?}:{}",
                pong.to.ip, pong.to.udp, want.ip, want.udp
            )));
        }
        if packet::is_expired(pong.expiration, now()) {
            return Err(Stop::fail(format!("Pong is expired ({})", pong.expiration)));
        }
        Ok(())
    }

    /// The endpoint proof from l1: our Ping answered by Pong, the node's Ping answered by ours.
    pub fn bond(&self) -> Result<(), Stop> {
        let hash = self.send(&self.l1, &Packet::Ping(self.ping(&self.l1)))?;
        let (mut got_ping, mut got_pong) = (false, false);
        while !(got_ping && got_pong) {
            let d = self.expect(&self.l1, "Ping and Pong while bonding")?;
            match &d.packet {
                Packet::Ping(_) => {
                    self.send(
                        &self.l1,
                        &Packet::Pong(packet::Pong {
                            to: self.remote_endpoint(),
                            ping_hash: d.hash,
                            expiration: future(),
                            enr_seq: None,
                        }),
                    )?;
                    got_ping = true;
                }
                Packet::Pong(_) => {
                    self.check_pong(&self.l1, &d, &hash)
                        .map_err(|e| Stop::fail(format!("bonding: {}", msg(e))))?;
                    got_pong = true;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The message of a stop.
pub fn msg(s: Stop) -> String {
    match s {
        Stop::Fail(m) | Stop::Skip(m) => m,
    }
}
