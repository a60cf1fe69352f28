//! The iterative Kademlia lookup of discovery v4 (devp2p discv4.md "Recursive Lookup"), as a
//! sans-IO state machine: which nodes to send `FindNode` for a target, and when the search is
//! done.
//!
//! The behaviour follows go-ethereum's `p2p/discover/lookup.go`: start from the table's closest
//! nodes to the target, keep [`ALPHA`] queries in flight, merge every `Neighbors` answer into
//! the candidates sorted by distance, and stop once the [`RESULT_NODES_MAX`] closest candidates
//! have all answered. Unlike go-ethereum, a node whose query fails leaves the candidates, so the
//! result holds only nodes that answered and the next closest take the failed one's place.
//!
//! A node can move. An answer that names a node the lookup already holds at another endpoint
//! is kept aside, and if the query at the endpoint we had fails, the node is asked once more
//! at the one the answer named (an answer naming a node whose query already failed brings it
//! back at once). So a stale table entry, or a stale address a user gave, does not hide the
//! node from a lookup for it. Each node gets at most one such second chance.
//!
//! The discovery state machine drives it: it sends `FindNode(target)` to every node
//! [`Lookup::poll_query`] returns, reports each `Neighbors` answer with
//! [`Lookup::handle_response`] and each timeout or error with [`Lookup::handle_failure`], and
//! reads [`Lookup::result`] once [`Lookup::is_finished`]. Timeouts are the caller's: the lookup
//! has no clock. A self-lookup at start and random lookups to feed the dial scheduler are all
//! instances of this one machine with different targets.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::table::{BUCKET_SIZE, Node, distance_cmp};
use crate::crypto::NodeId;

/// Queries in flight at once: α = 3, discv4.md "Recursive Lookup" and go-ethereum's `alpha`.
pub const ALPHA: usize = 3;

/// Nodes a lookup returns, and the candidates that must all have answered before it ends: k =
/// [`BUCKET_SIZE`] = 16, as in go-ethereum.
pub const RESULT_NODES_MAX: usize = BUCKET_SIZE;

/// Candidates kept, closest first: 3k = 48. Only the k closest are ever queried; the rest stand
/// by to take the place of those that fail, so a few dead nodes near the target do not shrink
/// the result. Farther nodes are dropped.
pub const LOOKUP_CANDIDATES_MAX: usize = 3 * RESULT_NODES_MAX;

/// Nodes taken from one `Neighbors` answer: k = 16, the most an honest node returns (discv4.md
/// "FindNode Packet": up to 16 nodes, possibly over several packets). Extra ones are ignored.
pub const RESPONSE_NODES_MAX: usize = BUCKET_SIZE;

/// `FindNode` queries one lookup may send: 128. An honest lookup asks the k = 16 closest plus
/// the nodes on the way there, a few dozen queries even in networks far larger than Ethereum's;
/// the bound stops peers that keep answering with ever closer fake nodes from making a lookup
/// run (and send) forever. It also bounds the seen-set at 48 + 128 * 16 ids.
pub const LOOKUP_QUERIES_MAX: usize = 128;

/// Where a candidate is in its query's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryState {
    NotAsked,
    Pending,
    Answered,
}

/// A node the lookup knows of, with the number of answers on the path that led to it (seeds 0).
#[derive(Debug, Clone)]
struct Candidate {
    node: Node,
    depth: u32,
    state: QueryState,
}

/// One iterative lookup. See the module docs for how the discovery state machine drives it.
#[derive(Debug, Clone)]
pub struct Lookup {
    target: NodeId,
    /// Closest to `target` first; never more than [`LOOKUP_CANDIDATES_MAX`]; failed nodes
    /// removed.
    candidates: Vec<Candidate>,
    /// Every id ever taken as a candidate (or ourselves): a node is queried at most once.
    seen: BTreeSet<NodeId>,
    /// Queries in flight, with the depth of the queried node. Kept apart from `candidates` so
    /// that a pending node pushed out of the candidates still counts against [`ALPHA`].
    pending: BTreeMap<NodeId, u32>,
    /// Nodes whose query failed, with the endpoint (IP, UDP port) that failed and their depth.
    failed: BTreeMap<NodeId, ((IpAddr, u16), u32)>,
    /// Another endpoint an answer named for a node still to be asked or being asked: where
    /// it is asked if the query at the endpoint we hold fails.
    elsewhere: BTreeMap<NodeId, Node>,
    /// Nodes given their second chance at another endpoint (once each).
    moved: BTreeSet<NodeId>,
    queries: usize,
    rounds: u32,
}

impl Lookup {
    /// A lookup for `target` by the local node `self_id`, starting from `seeds` (the table's
    /// closest nodes to the target; a self-lookup with an empty table passes the bootnodes).
    pub fn new(target: NodeId, self_id: NodeId, seeds: Vec<Node>) -> Lookup {
        let mut lookup = Lookup {
            target,
            candidates: Vec::new(),
            seen: BTreeSet::from([self_id]),
            pending: BTreeMap::new(),
            failed: BTreeMap::new(),
            elsewhere: BTreeMap::new(),
            moved: BTreeSet::new(),
            queries: 0,
            rounds: 0,
        };
        lookup.merge(seeds, 0, usize::MAX);
        lookup
    }

    /// The id searched for.
    pub fn target(&self) -> NodeId {
        self.target
    }

    /// The next node to send `FindNode(target)` to, while fewer than [`ALPHA`] queries are in
    /// flight: the closest not yet asked among the [`RESULT_NODES_MAX`] closest candidates.
    pub fn poll_query(&mut self) -> Option<Node> {
        if self.pending.len() >= ALPHA || self.queries >= LOOKUP_QUERIES_MAX {
            return None;
        }
        let c = self
            .candidates
            .iter_mut()
            .take(RESULT_NODES_MAX)
            .find(|c| c.state == QueryState::NotAsked)?;
        c.state = QueryState::Pending;
        self.pending.insert(c.node.id, c.depth);
        self.queries += 1;
        Some(c.node.clone())
    }

    /// The `Neighbors` answer of `from` to our query. Returns the nodes new to this lookup (to
    /// add to the table as seen and offer to the dial scheduler), or `None` if no query to
    /// `from` is in flight (unsolicited or late: ignored).
    pub fn handle_response(&mut self, from: &NodeId, nodes: Vec<Node>) -> Option<Vec<Node>> {
        let depth = self.pending.remove(from)?;
        self.rounds = self.rounds.max(depth.saturating_add(1));
        if let Some(c) = self.candidates.iter_mut().find(|c| c.node.id == *from) {
            c.state = QueryState::Answered;
        }
        Some(self.merge(nodes, depth.saturating_add(1), RESPONSE_NODES_MAX))
    }

    /// The query to `from` failed (timeout, error, or an answer the caller rejected): the node
    /// leaves the candidates, unless an answer named it at another endpoint, where it is asked
    /// next (see the module docs). Returns `false` if no query to `from` was in flight.
    pub fn handle_failure(&mut self, from: &NodeId) -> bool {
        let Some(depth) = self.pending.remove(from) else {
            return false;
        };
        let endpoint = self
            .candidates
            .iter()
            .find(|c| c.node.id == *from)
            .map(|c| endpoint(&c.node));
        self.candidates.retain(|c| c.node.id != *from);
        match self.elsewhere.remove(from) {
            Some(alt) if !self.moved.contains(from) => self.requeue(alt, depth),
            _ => {
                if let Some(ep) = endpoint {
                    self.failed.insert(*from, (ep, depth));
                }
            }
        }
        true
    }

    /// Whether the lookup is over: nothing in flight and nothing left to ask (every one of the
    /// [`RESULT_NODES_MAX`] closest candidates answered, or [`LOOKUP_QUERIES_MAX`] reached).
    pub fn is_finished(&self) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        self.queries >= LOOKUP_QUERIES_MAX
            || !self
                .candidates
                .iter()
                .take(RESULT_NODES_MAX)
                .any(|c| c.state == QueryState::NotAsked)
    }

    /// Up to [`RESULT_NODES_MAX`] nodes closest to the target that answered, closest first.
    /// Meaningful once [`Lookup::is_finished`]; before that, the best so far.
    pub fn result(&self) -> Vec<Node> {
        self.candidates
            .iter()
            .filter(|c| c.state == QueryState::Answered)
            .take(RESULT_NODES_MAX)
            .map(|c| c.node.clone())
            .collect()
    }

    /// The longest chain of answers the lookup followed: a seed's answer is round 1, an answer
    /// from a node that a round-r answer named is round r + 1. With α queries in parallel this
    /// is the lookup's latency in round trips.
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// `FindNode` queries sent so far.
    pub fn queries(&self) -> usize {
        self.queries
    }

    /// Queries in flight.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Adds the unseen nodes among the first `max` of `nodes` as candidates at `depth`, keeps
    /// the [`LOOKUP_CANDIDATES_MAX`] closest, and returns the added ones. Seeds come from our
    /// own table and are not limited; answers are limited to [`RESPONSE_NODES_MAX`].
    fn merge(&mut self, nodes: Vec<Node>, depth: u32, max: usize) -> Vec<Node> {
        let mut added = Vec::new();
        for node in nodes.into_iter().take(max) {
            if !self.seen.insert(node.id) {
                self.seen_elsewhere(node, &mut added);
                continue;
            }
            added.push(node.clone());
            self.candidates.push(Candidate {
                node,
                depth,
                state: QueryState::NotAsked,
            });
        }
        self.sort_candidates();
        added
    }

    /// An answer named `node`, whose id the lookup has seen, maybe at another endpoint: a node
    /// that failed comes back there at once (and counts as added); one not yet done with is
    /// asked there if its query fails. Each node moves at most once.
    fn seen_elsewhere(&mut self, node: Node, added: &mut Vec<Node>) {
        if self.moved.contains(&node.id) {
            return;
        }
        let ep = endpoint(&node);
        if let Some(&(failed_at, depth)) = self.failed.get(&node.id) {
            if failed_at != ep {
                self.failed.remove(&node.id);
                added.push(node.clone());
                self.requeue(node, depth);
            }
            return;
        }
        let held = self
            .candidates
            .iter()
            .find(|c| c.node.id == node.id && c.state != QueryState::Answered);
        if held.is_some_and(|c| endpoint(&c.node) != ep) {
            self.elsewhere.entry(node.id).or_insert(node);
        }
    }

    /// Makes `node` (which failed at another endpoint) a candidate again, for its one move.
    fn requeue(&mut self, node: Node, depth: u32) {
        self.moved.insert(node.id);
        self.candidates.push(Candidate {
            node,
            depth,
            state: QueryState::NotAsked,
        });
        self.sort_candidates();
    }

    fn sort_candidates(&mut self) {
        let target = self.target;
        // Stable sort: equal distances only for equal ids, which `seen` already excludes.
        self.candidates
            .sort_by(|a, b| distance_cmp(&target, &a.node.id, &b.node.id));
        self.candidates.truncate(LOOKUP_CANDIDATES_MAX);
    }
}

/// Where a node's discovery packets go.
fn endpoint(n: &Node) -> (IpAddr, u16) {
    (n.ip, n.udp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use std::net::{IpAddr, Ipv4Addr};

    /// A node with a chosen id; the key is shared, the lookup never looks at it.
    fn node(id: [u8; 32]) -> Node {
        let key = SecretKey::from_bytes(&[1; 32]).unwrap().public_key();
        Node {
            id: NodeId(id),
            key,
            ip: IpAddr::V4(Ipv4Addr::new(1, id[0], id[1], 1)),
            udp: 30303,
            tcp: 30303,
            enr_seq: 0,
        }
    }

    /// An id at XOR distance `d` from the all-zero target (as a big-endian number).
    fn id_at(d: u16) -> [u8; 32] {
        let mut id = [0u8; 32];
        id[30..].copy_from_slice(&d.to_be_bytes());
        id
    }

    fn drain(l: &mut Lookup) -> Vec<Node> {
        std::iter::from_fn(|| l.poll_query()).collect()
    }

    #[test]
    fn alpha_queries_closest_first() {
        let seeds: Vec<Node> = (1..=20u16).rev().map(|d| node(id_at(d))).collect();
        let mut l = Lookup::new(NodeId([0; 32]), NodeId(id_at(999)), seeds);
        let asked = drain(&mut l);
        let ids: Vec<NodeId> = asked.iter().map(|n| n.id).collect();
        assert_eq!(
            ids,
            vec![NodeId(id_at(1)), NodeId(id_at(2)), NodeId(id_at(3))]
        );
        assert_eq!(l.pending_count(), ALPHA);
        assert!(!l.is_finished());
        // An answer frees a slot for the next closest.
        assert_eq!(l.handle_response(&NodeId(id_at(2)), vec![]), Some(vec![]));
        assert_eq!(l.poll_query().map(|n| n.id), Some(NodeId(id_at(4))));
        assert_eq!(l.poll_query(), None);
    }

    #[test]
    fn unsolicited_and_repeated_answers_are_ignored() {
        let mut l = Lookup::new(NodeId([0; 32]), NodeId(id_at(999)), vec![node(id_at(5))]);
        assert_eq!(
            l.handle_response(&NodeId(id_at(5)), vec![node(id_at(1))]),
            None
        );
        assert!(!l.handle_failure(&NodeId(id_at(5))));
        assert_eq!(drain(&mut l).len(), 1);
        assert!(l.handle_response(&NodeId(id_at(5)), vec![]).is_some());
        assert_eq!(
            l.handle_response(&NodeId(id_at(5)), vec![node(id_at(1))]),
            None
        );
        assert!(l.is_finished());
        assert_eq!(l.queries(), 1);
    }

    #[test]
    fn answers_are_deduplicated_bounded_and_exclude_self() {
        let me = id_at(7);
        let mut l = Lookup::new(NodeId([0; 32]), NodeId(me), vec![node(id_at(100))]);
        drain(&mut l);
        let mut answer: Vec<Node> = (200..240u16).map(|d| node(id_at(d))).collect();
        answer.insert(0, node(me));
        answer.insert(1, node(id_at(100)));
        answer.insert(2, node(id_at(200)));
        let added = l.handle_response(&NodeId(id_at(100)), answer).unwrap();
        // Of the first 16: ourselves, the responder and one duplicate are skipped.
        assert_eq!(added.len(), RESPONSE_NODES_MAX - 3);
        assert!(added.iter().all(|n| n.id != NodeId(me)));
        let asked = drain(&mut l);
        assert!(asked.iter().all(|n| n.id != NodeId(me)));
    }

    #[test]
    fn failed_nodes_leave_and_the_next_closest_take_their_place() {
        let seeds: Vec<Node> = (1..=20u16).map(|d| node(id_at(d))).collect();
        let mut l = Lookup::new(NodeId([0; 32]), NodeId(id_at(999)), seeds);
        while !l.is_finished() {
            let asked = drain(&mut l);
            assert!(
                !asked.is_empty(),
                "a lookup that is not finished has a query to send"
            );
            for n in asked {
                // The five closest are dead.
                if n.id.0 <= id_at(5) {
                    assert!(l.handle_failure(&n.id));
                } else {
                    assert!(l.handle_response(&n.id, vec![]).is_some());
                }
            }
        }
        let got: Vec<NodeId> = l.result().iter().map(|n| n.id).collect();
        let want: Vec<NodeId> = (6..=20u16).map(|d| NodeId(id_at(d))).collect();
        assert_eq!(got, want, "the answering nodes, closest first");
        assert_eq!(l.queries(), 20);
        assert_eq!(l.rounds(), 1);
    }

    #[test]
    fn rounds_count_the_longest_answer_chain() {
        let mut l = Lookup::new(NodeId([0; 32]), NodeId(id_at(999)), vec![node(id_at(500))]);
        let mut hop = 500u16;
        while let Some(n) = l.poll_query() {
            // Each answer names one closer node: a chain of sequential hops.
            let next = if hop > 100 {
                vec![node(id_at(hop - 100))]
            } else {
                vec![]
            };
            hop = hop.saturating_sub(100);
            l.handle_response(&n.id, next).unwrap();
        }
        assert!(l.is_finished());
        assert_eq!(l.rounds(), 5);
        assert_eq!(l.result().len(), 5);
        assert_eq!(l.result()[0].id, NodeId(id_at(100)));
    }

    /// `n` at another UDP port: the same node, moved.
    fn moved(mut n: Node, udp: u16) -> Node {
        n.udp = udp;
        n
    }

    #[test]
    fn a_failed_node_named_elsewhere_is_asked_there() {
        // The target itself, at a stale address, and a node that knows where it went.
        let stale = node(id_at(0));
        let guide = node(id_at(9));
        let mut l = Lookup::new(
            NodeId(id_at(0)),
            NodeId(id_at(999)),
            vec![stale.clone(), guide.clone()],
        );
        assert_eq!(drain(&mut l).len(), 2);
        assert!(l.handle_failure(&stale.id));
        let there = moved(stale.clone(), 40404);
        // The answer brings it back: new to the lookup at that endpoint.
        let added = l.handle_response(&guide.id, vec![there.clone()]).unwrap();
        assert_eq!(added, vec![there.clone()]);
        assert_eq!(drain(&mut l), vec![there.clone()]);
        l.handle_response(&there.id, vec![]).unwrap();
        assert!(l.is_finished());
        assert_eq!(l.result()[0], there, "found where it is now");
    }

    #[test]
    fn a_node_named_elsewhere_while_asked_is_asked_there_if_it_fails() {
        let stale = node(id_at(0));
        let guide = node(id_at(9));
        let mut l = Lookup::new(
            NodeId(id_at(0)),
            NodeId(id_at(999)),
            vec![stale.clone(), guide.clone()],
        );
        drain(&mut l);
        let there = moved(stale.clone(), 40404);
        // Named elsewhere while the query at the stale address is in flight: kept aside.
        assert_eq!(
            l.handle_response(&guide.id, vec![there.clone()]),
            Some(vec![])
        );
        assert!(l.handle_failure(&stale.id));
        assert_eq!(drain(&mut l), vec![there.clone()]);
        l.handle_response(&there.id, vec![]).unwrap();
        assert_eq!(l.result()[0], there);
    }

    #[test]
    fn a_node_moves_once_and_only_to_another_endpoint() {
        let stale = node(id_at(0));
        let guides: Vec<Node> = (5..9u16).map(|d| node(id_at(d))).collect();
        let mut seeds = guides.clone();
        seeds.push(stale.clone());
        let mut l = Lookup::new(NodeId(id_at(0)), NodeId(id_at(999)), seeds);
        let asked = drain(&mut l);
        assert_eq!(asked[0], stale);
        assert!(l.handle_failure(&stale.id));
        // The same endpoint again: nothing to retry.
        let again = l
            .handle_response(&guides[0].id, vec![stale.clone()])
            .unwrap();
        assert!(again.is_empty());
        // Another one: asked there, once; when that fails too, no third endpoint is tried.
        let there = moved(stale.clone(), 40404);
        assert_eq!(
            l.handle_response(&guides[1].id, vec![there.clone()]),
            Some(vec![there.clone()])
        );
        let next = drain(&mut l);
        assert!(next.contains(&there), "{next:?}");
        assert!(l.handle_failure(&there.id));
        let third = moved(stale.clone(), 50505);
        assert_eq!(l.handle_response(&guides[2].id, vec![third]), Some(vec![]));
        assert!(drain(&mut l).iter().all(|n| n.id != stale.id));
    }

    #[test]
    fn liars_cannot_make_a_lookup_endless() {
        // Every responder names 16 fresh nodes closer than anything so far.
        let mut l = Lookup::new(
            NodeId([0; 32]),
            NodeId(id_at(65535)),
            vec![node(id_at(60000))],
        );
        let mut next = 59999u16;
        let mut steps = 0;
        let mut asked = BTreeSet::new();
        while let Some(n) = l.poll_query() {
            asked.insert(n.id);
            let fake: Vec<Node> = (0..16)
                .map(|_| {
                    next -= 1;
                    node(id_at(next))
                })
                .collect();
            l.handle_response(&n.id, fake).unwrap();
            steps += 1;
            assert!(steps <= LOOKUP_QUERIES_MAX, "more queries than the bound");
        }
        assert!(l.is_finished());
        assert_eq!(l.queries(), LOOKUP_QUERIES_MAX);
        let result = l.result();
        assert!(!result.is_empty() && result.len() <= RESULT_NODES_MAX);
        assert!(
            result.iter().all(|n| asked.contains(&n.id)),
            "only answering nodes"
        );
    }
}
