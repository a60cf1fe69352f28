//! Discovery in the event loop: both state machines on the one UDP socket (go-ethereum
//! `p2p/server.go` `setupDiscovery`, `discover/v4_udp.go`, `discover/v5_udp.go`), their timers,
//! lookup schedules, and the dial candidates they yield (devp2p `discv4.md`, `discv5-theory.md`).
//!
//! A datagram whose leading keccak hash matches the rest goes to v4, any other to v5. Both feed
//! the dial scheduler the same way: nodes their lookups find, and random table nodes while the
//! scheduler wants candidates. A node's record is judged by the capabilities before it becomes
//! a candidate (eth: its EIP-2124 fork id); a rejected node is remembered, bounded, and skipped.

use std::net::SocketAddr;
use std::time::Duration;

use super::Server;
use crate::crypto::NodeId;
use crate::dial::Millis;
use crate::discv4::discovery::Event as DiscEvent;
use crate::discv4::table::Node as DiscNode;
use crate::discv5::discovery::{Event as V5Event, record_node};
use crate::enode::Enode;
use crate::enr::Record;
use crate::log;
use crate::server::clock::unix_now;
use crate::server::udp::{Datagram, is_v4_packet};

/// Random lookups run this often while the dial scheduler wants candidates.
pub const LOOKUP_INTERVAL_BUSY: Duration = Duration::from_secs(5);
/// And this often otherwise, to keep the table fresh (geth `refreshInterval`: 30 min).
pub const LOOKUP_INTERVAL_IDLE: Duration = Duration::from_secs(30 * 60);
/// Table nodes each discovery version offers the dial scheduler per tick while it wants
/// candidates.
const TABLE_CANDIDATES_PER_TICK: usize = 8;
/// Nodes remembered as being on another fork at most; the oldest is forgotten first.
const INCOMPATIBLE_NODES_MAX: usize = 4096;

impl Server {
    /// The first lookups are for our own id: they fill the buckets near us.
    pub(super) fn start_discovery(&mut self) {
        let now = unix_now();
        let next = now + LOOKUP_INTERVAL_BUSY.as_millis() as Millis;
        if let Some(d) = self.disc.as_mut() {
            d.start_self_lookup(now);
            self.next_lookup = next;
        }
        if let Some(d) = self.v5.as_mut() {
            log::info("Discovery v5 started", &[("enr", &d.record().to_text())]);
            let me = d.self_id();
            d.start_lookup(now, me);
            self.next_lookup_v5 = next;
        }
    }

    /// A datagram from the shared socket: a v4 packet to v4, anything else to v5 (v4 alone
    /// takes everything, and drops what it cannot read).
    pub(super) fn handle_datagram(&mut self, from: SocketAddr, bytes: &[u8], queued: usize) {
        self.status.discover_ingress += bytes.len() as u64;
        let now = unix_now();
        // Half the reader's queue waiting: it will soon drop datagrams unread, if the socket is
        // not doing so already.
        if queued >= crate::server::udp::DATAGRAM_QUEUE_MAX / 2 {
            if let Some(d) = self.disc.as_mut() {
                d.handle_congestion(now);
            }
            if let Some(d) = self.v5.as_mut() {
                d.handle_congestion(now);
            }
        }
        let v4 = self.disc.is_some() && (self.v5.is_none() || is_v4_packet(bytes));
        let why = if v4 {
            match self
                .disc
                .as_mut()
                .map(|d| d.handle_packet(now, from, bytes))
            {
                // Counted, not logged: a flood would write a line per datagram.
                Some(Err(
                    crate::discv4::event::Dropped::RateLimited
                    | crate::discv4::event::Dropped::OverBudget,
                )) => {
                    self.status.discover_throttled += 1;
                    None
                }
                Some(Err(e)) => Some(e.to_string()),
                _ => None,
            }
        } else {
            self.v5
                .as_mut()
                .and_then(|d| d.handle_packet(now, from, bytes).err())
                .map(|e| e.to_string())
        };
        if let Some(why) = why {
            let name = if v4 {
                "Discovery packet dropped"
            } else {
                "Discv5 packet dropped"
            };
            log::trace(name, &[("from", &from), ("why", &why)]);
        }
    }

    /// Discovery's timers, the lookup schedules, and table nodes for a dial scheduler that
    /// wants candidates.
    pub(super) fn discovery_tick(&mut self) {
        let now = unix_now();
        let wants = self.node.wants_candidates();
        let every = if wants {
            LOOKUP_INTERVAL_BUSY
        } else {
            LOOKUP_INTERVAL_IDLE
        };
        let mut offered: Vec<Enode> = Vec::new();
        if let Some(d) = self.disc.as_mut() {
            d.handle_timeout(now);
            if !d.lookup_running() && now >= self.next_lookup {
                d.start_random_lookup(now);
                self.next_lookup = now + every.as_millis() as Millis;
            }
            if wants {
                let incompatible = &self.incompatible;
                offered.extend(
                    d.random_nodes(TABLE_CANDIDATES_PER_TICK)
                        .iter()
                        .filter(|n| !incompatible.contains(&n.id))
                        .filter_map(dial_candidate),
                );
            }
        }
        let mut records = Vec::new();
        if let Some(d) = self.v5.as_mut() {
            d.handle_timeout(now);
            if !d.lookup_running() && now >= self.next_lookup_v5 {
                d.start_random_lookup(now);
                self.next_lookup_v5 = now + every.as_millis() as Millis;
            }
            if wants {
                records = d.random_records(TABLE_CANDIDATES_PER_TICK);
            }
        }
        offered.extend(records.iter().filter_map(|r| self.judge_record(r)));
        if !offered.is_empty() {
            let at = self.now();
            self.node.handle_candidates(at, offered);
        }
    }

    /// Sends both discoveries' datagrams and acts on their events.
    pub(super) fn drain_discovery(&mut self) {
        self.drain_discv4();
        self.drain_discv5();
    }

    fn drain_discv4(&mut self) {
        let now = self.now();
        let Some(d) = self.disc.as_mut() else {
            return;
        };
        while let Some(datagram) = d.poll_transmit() {
            send_datagram(&self.udp_out, &mut self.status.discover_egress, datagram);
        }
        let mut records = Vec::new();
        while let Some(ev) = d.poll_event() {
            match ev {
                DiscEvent::Discovered(n) => {
                    if !self.incompatible.contains(&n.id) {
                        self.node.handle_candidates(now, dial_candidate(&n));
                    }
                }
                DiscEvent::LookupDone { result, rounds, .. } => {
                    log::debug(
                        "Lookup finished",
                        &[
                            ("found", &result.len()),
                            ("rounds", &rounds),
                            ("table", &d.table().len()),
                        ],
                    );
                    // Fetch the records of what the lookup found, so dial candidates can be
                    // judged by their ENR (the eth fork id) and not only by their endpoint.
                    let at = unix_now();
                    for n in result.into_iter().filter(|n| n.enr_seq == 0) {
                        d.request_enr(at, n);
                    }
                }
                DiscEvent::Enr(n, r) => {
                    log::trace("Node record", &[("id", &n.id), ("seq", &r.seq())]);
                    records.push((n, r));
                }
                DiscEvent::Store(op) => {
                    if let Some(store) = self.store.as_mut() {
                        store(op);
                    }
                }
                DiscEvent::PingResult { .. } | DiscEvent::EnrResult { .. } => {}
            }
        }
        for (n, r) in records {
            if self.admits(n.id, &r) {
                self.node.handle_candidates(now, dial_candidate(&n));
            }
        }
    }

    fn drain_discv5(&mut self) {
        let now = self.now();
        let Some(d) = self.v5.as_mut() else {
            return;
        };
        while let Some(datagram) = d.poll_transmit() {
            send_datagram(&self.udp_out, &mut self.status.discover_egress, datagram);
        }
        let mut found = Vec::new();
        while let Some(ev) = d.poll_event() {
            match ev {
                V5Event::Session { node, addr, .. } => {
                    log::debug("Discv5 session", &[("id", &node), ("addr", &addr)]);
                }
                // It answered from its record's endpoint: the node database keeps it.
                V5Event::Seen { record, at } => {
                    if let Some(store) = self.store_v5.as_mut() {
                        store(&record, at);
                    }
                }
                // A node a lookup learned of: a dial candidate once its record passes.
                V5Event::Discovered(r) => found.push(r),
                V5Event::LookupDone {
                    records, rounds, ..
                } => {
                    log::debug(
                        "Discv5 lookup finished",
                        &[
                            ("found", &records.len()),
                            ("rounds", &rounds),
                            ("table", &d.table().len()),
                        ],
                    );
                }
                other => log::trace("Discv5 event", &[("event", &format!("{other:?}"))]),
            }
        }
        let candidates: Vec<Enode> = found.iter().filter_map(|r| self.judge_record(r)).collect();
        if !candidates.is_empty() {
            self.node.handle_candidates(now, candidates);
        }
    }

    /// The dial candidate a v5 record names, if the capabilities accept the record and it
    /// names an RLPx port.
    fn judge_record(&mut self, r: &Record) -> Option<Enode> {
        let n = record_node(r)?;
        if self.incompatible.contains(&n.id) || !self.admits(n.id, r) {
            return None;
        }
        dial_candidate(&n)
    }

    /// Whether every capability accepts the node's record (eth: a fork id our chain does not
    /// reject, EIP-2124); a rejected node is remembered and not offered again.
    fn admits(&mut self, id: NodeId, r: &Record) -> bool {
        if self.protocols.iter().all(|p| p.accepts_record(r)) {
            return true;
        }
        if !self.incompatible.contains(&id) {
            log::debug("Skipping node on another fork", &[("id", &id)]);
            if self.incompatible.len() >= INCOMPATIBLE_NODES_MAX {
                self.incompatible.pop_first();
            }
            self.incompatible.insert(id);
        }
        false
    }
}

/// A dial candidate from a discovered node, if it accepts RLPx connections.
fn dial_candidate(n: &DiscNode) -> Option<Enode> {
    (n.tcp != 0).then(|| Enode::new(n.key, n.ip, n.tcp, n.udp))
}

/// Queues one outgoing datagram for the UDP writer and counts its bytes; a full queue drops it
/// (UDP is lossy anyway).
fn send_datagram(
    out: &Option<async_channel::Sender<Datagram>>,
    egress: &mut u64,
    datagram: Datagram,
) {
    if let Some(out) = out {
        let len = datagram.1.len() as u64;
        if out.try_send(datagram).is_ok() {
            *egress += len;
        }
    }
}
