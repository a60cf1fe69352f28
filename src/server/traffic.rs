//! What one session read and wrote, for the metrics (go-ethereum `p2p/metrics.go`: the
//! `p2p/ingress` and `p2p/egress` meters, and one meter per capability message). A connection
//! task counts its frames here, wire bytes (header, body and MACs) by absolute message id, and
//! hands the counts to the loop now and then and at its end ([`PeerEvent::Traffic`]); the loop,
//! which knows the session's capabilities, turns ids into (capability, version, code) and keeps
//! the totals. Nothing is shared: the counts move by message.
//!
//! [`PeerEvent::Traffic`]: super::events::PeerEvent::Traffic

use std::time::Duration;

/// How often a busy session hands its counts to the loop: a scrape sees traffic at most this
/// late, and the loop gets at most one event per session per interval.
pub const TRAFFIC_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Absolute message ids counted one by one: the base protocol's 16 and eth's 17 (up to eth/70)
/// fit, with room for another capability; frames of higher ids count in the totals only.
pub const TRAFFIC_IDS_MAX: usize = 64;

/// Packets and wire bytes each way, for one message id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdCounts {
    pub in_packets: u64,
    pub in_bytes: u64,
    pub out_packets: u64,
    pub out_bytes: u64,
}

/// Counts since the last hand-over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    pub ingress_bytes: u64,
    pub egress_bytes: u64,
    pub ids: [IdCounts; TRAFFIC_IDS_MAX],
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            ingress_bytes: 0,
            egress_bytes: 0,
            ids: [IdCounts::default(); TRAFFIC_IDS_MAX],
        }
    }
}

impl Traffic {
    /// A frame of message `id`, `wire` bytes long, was read.
    pub fn read(&mut self, id: u64, wire: usize) {
        self.ingress_bytes += wire as u64;
        if let Some(c) = self.ids.get_mut(id as usize) {
            c.in_packets += 1;
            c.in_bytes += wire as u64;
        }
    }

    /// A frame of message `id`, `wire` bytes long, was written.
    pub fn wrote(&mut self, id: u64, wire: usize) {
        self.egress_bytes += wire as u64;
        if let Some(c) = self.ids.get_mut(id as usize) {
            c.out_packets += 1;
            c.out_bytes += wire as u64;
        }
    }

    /// Adds counts that could not be handed over.
    pub fn merge(&mut self, other: &Traffic) {
        self.ingress_bytes += other.ingress_bytes;
        self.egress_bytes += other.egress_bytes;
        for (a, b) in self.ids.iter_mut().zip(other.ids.iter()) {
            a.in_packets += b.in_packets;
            a.in_bytes += b.in_bytes;
            a.out_packets += b.out_packets;
            a.out_bytes += b.out_bytes;
        }
    }

    /// Nothing counted since the last hand-over.
    pub fn is_empty(&self) -> bool {
        self.ingress_bytes == 0 && self.egress_bytes == 0
    }

    /// The ids with traffic, with their counts.
    pub fn used(&self) -> impl Iterator<Item = (u64, &IdCounts)> {
        self.ids
            .iter()
            .enumerate()
            .filter(|(_, c)| c.in_packets + c.out_packets > 0)
            .map(|(i, c)| (i as u64, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_count_by_id_and_in_total() {
        let mut t = Traffic::default();
        assert!(t.is_empty());
        t.read(0x13, 100);
        t.read(0x13, 50);
        t.wrote(0x14, 700);
        t.read(TRAFFIC_IDS_MAX as u64 + 5, 9);
        assert_eq!(t.ingress_bytes, 159);
        assert_eq!(t.egress_bytes, 700);
        let used: Vec<_> = t.used().map(|(i, c)| (i, *c)).collect();
        assert_eq!(
            used,
            [
                (
                    0x13,
                    IdCounts {
                        in_packets: 2,
                        in_bytes: 150,
                        ..IdCounts::default()
                    }
                ),
                (
                    0x14,
                    IdCounts {
                        out_packets: 1,
                        out_bytes: 700,
                        ..IdCounts::default()
                    }
                ),
            ]
        );
    }
}
