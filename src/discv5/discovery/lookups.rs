//! Lookups of the discovery v5 state machine (devp2p `discv5-theory.md` "Lookup"): discv4's
//! iterative lookup ([`crate::discv4::lookup::Lookup`], α = 3, the same candidate rules) driven
//! with FINDNODE at the log distances nearest the target, the records kept beside it.

use std::collections::BTreeMap;

use super::{Discovery, Event, Purpose, record_node};
use crate::crypto::NodeId;
use crate::discv4::lookup::Lookup;
use crate::discv4::table::{BUCKET_SIZE, log_distance};
use crate::discv5::message::Message;
use crate::enr::Record;
use crate::time::UnixMs;

/// Identifies a lookup started with [`Discovery::start_lookup`].
pub type LookupId = u64;

/// Lookups running at once at most.
pub const LOOKUPS_MAX: usize = 8;
/// Distances one lookup FINDNODE asks for (geth asks for three).
pub const LOOKUP_DISTANCES: usize = 3;

/// A lookup and the records of its candidates.
pub(super) struct LookupState {
    lookup: Lookup,
    /// Bounded by the lookup's candidates: only records the lookup took in are kept.
    records: BTreeMap<NodeId, Record>,
}

/// The distances to ask `dest` for when looking for `target`: the log distance between them,
/// then alternately one above and one below, three in all, within 1..=256 (0 only when `dest`
/// is the target).
pub fn lookup_distances(target: &NodeId, dest: &NodeId) -> Vec<u16> {
    let td = log_distance(target, dest);
    let mut out = vec![td as u16];
    let mut i = 1;
    while out.len() < LOOKUP_DISTANCES && i <= 256 {
        if td + i <= 256 {
            out.push((td + i) as u16);
        }
        if td > i && out.len() < LOOKUP_DISTANCES {
            out.push((td - i) as u16);
        }
        i += 1;
    }
    out
}

impl Discovery {
    /// Starts an iterative lookup for `target` from the table's closest nodes. The result
    /// arrives as [`Event::LookupDone`]. `None` when [`LOOKUPS_MAX`] run already.
    pub fn start_lookup(&mut self, now: UnixMs, target: NodeId) -> Option<LookupId> {
        if self.lookups.len() >= LOOKUPS_MAX {
            return None;
        }
        let seeds = self.table.closest(&target, BUCKET_SIZE);
        let records = seeds
            .iter()
            .filter_map(|n| self.records.get(&n.id).map(|r| (n.id, r.clone())))
            .collect();
        let id = self.next_lookup;
        self.next_lookup += 1;
        let state = LookupState {
            lookup: Lookup::new(target, self.self_id, seeds),
            records,
        };
        self.lookups.insert(id, state);
        self.advance_lookup(now, id);
        Some(id)
    }

    /// Starts a lookup for a random id (the shell runs these to fill the table).
    pub fn start_random_lookup(&mut self, now: UnixMs) -> Option<LookupId> {
        let target = NodeId(self.random());
        self.start_lookup(now, target)
    }

    /// Whether any lookup runs.
    pub fn lookup_running(&self) -> bool {
        !self.lookups.is_empty()
    }

    /// Sends the queries the lookup wants; reports it when it is over.
    pub(super) fn advance_lookup(&mut self, now: UnixMs, id: LookupId) {
        loop {
            let Some(st) = self.lookups.get_mut(&id) else {
                return;
            };
            let Some(node) = st.lookup.poll_query() else {
                break;
            };
            let target = st.lookup.target();
            let record = st.records.get(&node.id).cloned();
            let sent = record.and_then(|r| {
                let m = Message::FindNode {
                    id: self.new_request_id(),
                    distances: lookup_distances(&target, &node.id),
                };
                self.request(now, &r, m, Purpose::Lookup(id)).ok()
            });
            if sent.is_none()
                && let Some(st) = self.lookups.get_mut(&id)
            {
                st.lookup.handle_failure(&node.id);
            }
        }
        if self
            .lookups
            .get(&id)
            .is_some_and(|s| s.lookup.is_finished())
            && let Some(st) = self.lookups.remove(&id)
        {
            let records = st
                .lookup
                .result()
                .iter()
                .filter_map(|n| st.records.get(&n.id).cloned())
                .collect();
            self.events.push_back(Event::LookupDone {
                id,
                target: st.lookup.target(),
                records,
                rounds: st.lookup.rounds(),
            });
        }
    }

    /// The answer of `from` to a lookup's FINDNODE: new records become candidates and enter
    /// the table as seen.
    pub(super) fn lookup_answered(
        &mut self,
        now: UnixMs,
        id: LookupId,
        from: NodeId,
        records: Vec<Record>,
    ) {
        let nodes: Vec<_> = records.iter().filter_map(record_node).collect();
        let Some(st) = self.lookups.get_mut(&id) else {
            return;
        };
        let Some(new) = st.lookup.handle_response(&from, nodes) else {
            return;
        };
        for n in &new {
            if let Some(r) = records.iter().find(|r| r.node_id() == Some(n.id)) {
                st.records.insert(n.id, r.clone());
            }
        }
        let seen: Vec<Record> = new
            .iter()
            .filter_map(|n| st.records.get(&n.id).cloned())
            .collect();
        for r in &seen {
            self.events.push_back(Event::Discovered(r.clone()));
        }
        self.add_seeds(now, seen);
        self.advance_lookup(now, id);
    }

    /// A lookup's FINDNODE failed.
    pub(super) fn lookup_failed(&mut self, now: UnixMs, id: LookupId, from: NodeId) {
        if let Some(st) = self.lookups.get_mut(&id) {
            st.lookup.handle_failure(&from);
        }
        self.advance_lookup(now, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_surround_the_target_distance() {
        let a = NodeId([0; 32]);
        let mut b = NodeId([0; 32]);
        b.0[0] = 0x80; // distance 256
        assert_eq!(lookup_distances(&a, &b), vec![256, 255, 254]);
        let mut c = NodeId([0; 32]);
        c.0[31] = 1; // distance 1
        assert_eq!(lookup_distances(&a, &c), vec![1, 2, 3]);
        c.0[31] = 0x10; // distance 5
        assert_eq!(lookup_distances(&a, &c), vec![5, 6, 4]);
        assert_eq!(lookup_distances(&a, &a), vec![0, 1, 2]);
    }
}
