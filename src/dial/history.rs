//! A set of keys that each expire at a given time: the dial history ("dialed within the last
//! 35 s") and the inbound history ("attempted within the last 30 s") of the p2p server, as
//! go-ethereum's `p2p/util.go` expiry heap keeps them.
//!
//! Ordered collections only, so iteration order (and thus every decision built on it) is the same
//! on every run with the same inputs.

use std::collections::{BTreeMap, BTreeSet};

use super::Mono;

/// Keys with expiry times. Callers bound its size (each user has its own named limit) by checking
/// [`ExpiryHistory::len`] before [`ExpiryHistory::add`].
#[derive(Debug, Clone)]
pub struct ExpiryHistory<K: Ord + Copy> {
    by_key: BTreeMap<K, Mono>,
    by_time: BTreeSet<(Mono, K)>,
}

impl<K: Ord + Copy> Default for ExpiryHistory<K> {
    fn default() -> Self {
        ExpiryHistory {
            by_key: BTreeMap::new(),
            by_time: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Copy> ExpiryHistory<K> {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `key` until `expiry`, replacing any earlier expiry of the same key.
    pub fn add(&mut self, key: K, expiry: Mono) {
        if let Some(old) = self.by_key.insert(key, expiry) {
            self.by_time.remove(&(old, key));
        }
        self.by_time.insert((expiry, key));
    }

    /// Whether `key` is recorded and has not expired at `now`.
    pub fn contains(&self, key: &K, now: Mono) -> bool {
        self.by_key.get(key).is_some_and(|&e| e > now)
    }

    /// The expiry time of `key`, if recorded (expired or not).
    pub fn expiry(&self, key: &K) -> Option<Mono> {
        self.by_key.get(key).copied()
    }

    /// Drops every entry whose expiry is at or before `now`, calling `on_expire` for each in
    /// expiry order.
    pub fn expire(&mut self, now: Mono, mut on_expire: impl FnMut(K)) {
        while let Some(&(t, k)) = self.by_time.first() {
            if t > now {
                break;
            }
            self.by_time.pop_first();
            self.by_key.remove(&k);
            on_expire(k);
        }
    }

    /// The earliest expiry time, if any entry is recorded.
    pub fn next_expiry(&self) -> Option<Mono> {
        self.by_time.first().map(|&(t, _)| t)
    }

    /// Number of recorded entries (including ones past expiry that [`ExpiryHistory::expire`] has
    /// not yet dropped).
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_contains_expire() {
        let mut h = ExpiryHistory::new();
        h.add(1u32, Mono(100));
        h.add(2u32, Mono(50));
        assert!(h.contains(&1, Mono(99)));
        assert!(
            !h.contains(&1, Mono(100)),
            "an entry is gone at its expiry time"
        );
        assert_eq!(h.next_expiry(), Some(Mono(50)));
        let mut gone = Vec::new();
        h.expire(Mono(100), |k| gone.push(k));
        assert_eq!(gone, vec![2, 1], "expired in time order");
        assert!(h.is_empty());
        assert_eq!(h.next_expiry(), None);
    }

    #[test]
    fn re_adding_replaces_expiry() {
        let mut h = ExpiryHistory::new();
        h.add(7u32, Mono(10));
        h.add(7u32, Mono(30));
        assert_eq!(h.len(), 1);
        assert_eq!(h.next_expiry(), Some(Mono(30)));
        assert_eq!(h.expiry(&7), Some(Mono(30)));
        h.expire(Mono(20), |_| panic!("nothing expires before 30"));
        assert!(h.contains(&7, Mono(20)));
    }
}
