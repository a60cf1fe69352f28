//! The session cache (devp2p `discv5-theory.md` "Session Cache"): the keys agreed with each
//! recently seen node, tied to the UDP endpoint the handshake ran over, in a bounded LRU.
//!
//! A session is keyed by node id *and* socket address: a packet claiming a known id from another
//! address finds no session, cannot be decrypted, and is answered with WHOAREYOU, so a spoofer
//! never gets a reply sealed for the real node. Each session counts the messages it sealed; our
//! nonces are that counter (32 bits) followed by 64 random bits, as the spec recommends.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use super::crypto::{Key, Nonce, SessionKeys};
use crate::crypto::NodeId;
use crate::time::{Millis, UnixMs};

/// Sessions kept at most; the least recently used goes first (go-ethereum keeps 1024).
pub const SESSIONS_MAX: usize = 1024;
/// A session unused this long is forgotten and the next message handshakes again (sigp's
/// `session_timeout` default, 24 h).
pub const SESSION_LIFETIME: Millis = 24 * 3600 * 1000;

/// What identifies a session: the node and the endpoint it spoke from.
pub type SessionKey = (NodeId, SocketAddr);

/// One established (or, on the initiator's side, proposed) session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The key we seal with.
    pub write_key: Key,
    /// The key we open with.
    pub read_key: Key,
    /// Messages we sealed under `write_key` (the first 32 bits of our nonces).
    pub sent: u32,
    /// Whether the remote proved it holds the keys (a message from it opened). On the
    /// initiator's side a session starts unconfirmed, when we send the handshake.
    pub confirmed: bool,
    /// The remote's record sequence number we know (0: none).
    pub enr_seq: u64,
    /// Last use, for the LRU order and the lifetime.
    pub last_used: UnixMs,
}

impl Session {
    /// A session from handshake keys: `initiator` says whether we answered the WHOAREYOU.
    pub fn new(keys: &SessionKeys, initiator: bool, enr_seq: u64, now: UnixMs) -> Session {
        let (write_key, read_key) = if initiator {
            (keys.initiator_key, keys.recipient_key)
        } else {
            (keys.recipient_key, keys.initiator_key)
        };
        Session {
            write_key,
            read_key,
            sent: 0,
            confirmed: !initiator,
            enr_seq,
            last_used: now,
        }
    }

    /// The nonce for the next message we seal: the message counter, then `random`.
    pub fn next_nonce(&mut self, random: [u8; 8]) -> Nonce {
        self.sent = self.sent.wrapping_add(1);
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&self.sent.to_be_bytes());
        n[4..].copy_from_slice(&random);
        n
    }
}

/// The bounded LRU cache of sessions.
#[derive(Debug, Default)]
pub struct SessionCache {
    sessions: HashMap<SessionKey, Session>,
    /// (last use, tick) → key: the eviction order. The tick makes keys unique.
    order: BTreeMap<(UnixMs, u64), SessionKey>,
    /// Each session's place in `order`.
    place: HashMap<SessionKey, (UnixMs, u64)>,
    tick: u64,
}

impl SessionCache {
    /// An empty cache.
    pub fn new() -> SessionCache {
        SessionCache::default()
    }

    /// Stores a session, replacing any for the same node and endpoint, evicting the least
    /// recently used when full.
    pub fn insert(&mut self, key: SessionKey, session: Session) {
        self.remove(&key);
        if self.sessions.len() >= SESSIONS_MAX
            && let Some((_, oldest)) = self.order.pop_first()
        {
            self.place.remove(&oldest);
            self.sessions.remove(&oldest);
        }
        self.touch_place(key, session.last_used);
        self.sessions.insert(key, session);
    }

    /// The session for this node at this endpoint, if it is still alive; marks it used.
    pub fn get_mut(&mut self, now: UnixMs, key: &SessionKey) -> Option<&mut Session> {
        let last = self.sessions.get(key)?.last_used;
        if now.since(last) > SESSION_LIFETIME {
            self.remove(key);
            return None;
        }
        self.touch_place(*key, now);
        let s = self.sessions.get_mut(key)?;
        s.last_used = now;
        Some(s)
    }

    /// Whether a live session exists, without marking it used.
    pub fn contains(&self, now: UnixMs, key: &SessionKey) -> bool {
        self.sessions
            .get(key)
            .is_some_and(|s| now.since(s.last_used) <= SESSION_LIFETIME)
    }

    /// Forgets a session.
    pub fn remove(&mut self, key: &SessionKey) -> Option<Session> {
        if let Some(p) = self.place.remove(key) {
            self.order.remove(&p);
        }
        self.sessions.remove(key)
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn touch_place(&mut self, key: SessionKey, now: UnixMs) {
        if let Some(p) = self.place.remove(&key) {
            self.order.remove(&p);
        }
        self.tick += 1;
        let p = (now, self.tick);
        self.order.insert(p, key);
        self.place.insert(key, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys {
            initiator_key: [1; 16],
            recipient_key: [2; 16],
        }
    }

    fn key(i: u32) -> SessionKey {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&i.to_be_bytes());
        (NodeId(id), "127.0.0.1:1".parse().unwrap())
    }

    #[test]
    fn the_two_sides_cross_their_keys_and_nonces_count() {
        let mut a = Session::new(&keys(), true, 0, UnixMs(0));
        let b = Session::new(&keys(), false, 0, UnixMs(0));
        assert_eq!(a.write_key, b.read_key);
        assert_eq!(a.read_key, b.write_key);
        assert!(!a.confirmed && b.confirmed);
        let n1 = a.next_nonce([9; 8]);
        let n2 = a.next_nonce([9; 8]);
        assert_ne!(n1, n2);
        assert_eq!(&n2[..4], &2u32.to_be_bytes());
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_the_least_recently_used() {
        let mut c = SessionCache::new();
        for i in 0..SESSIONS_MAX as u32 {
            c.insert(
                key(i),
                Session::new(&keys(), false, 0, UnixMs(u64::from(i))),
            );
        }
        // Using the oldest makes the second oldest the victim.
        assert!(c.get_mut(UnixMs(5000), &key(0)).is_some());
        c.insert(key(99_999), Session::new(&keys(), false, 0, UnixMs(5001)));
        assert_eq!(c.len(), SESSIONS_MAX);
        assert!(c.contains(UnixMs(5001), &key(0)));
        assert!(!c.contains(UnixMs(5001), &key(1)));
    }

    #[test]
    fn a_session_expires_and_another_endpoint_has_none() {
        let mut c = SessionCache::new();
        c.insert(key(1), Session::new(&keys(), false, 0, UnixMs(0)));
        let other = (key(1).0, "127.0.0.2:1".parse().unwrap());
        assert!(c.get_mut(UnixMs(10), &other).is_none());
        assert!(c.get_mut(UnixMs(SESSION_LIFETIME), &key(1)).is_some());
        assert!(
            c.get_mut(UnixMs(2 * SESSION_LIFETIME + 1), &key(1))
                .is_none()
        );
        assert!(c.is_empty());
    }
}
