//! The discovery v4 node table: a Kademlia routing table of the nodes we know, bucketed by XOR
//! log distance from our own id (devp2p discv4.md "Kademlia Table"), as a sans-IO state machine.
//!
//! The behaviour follows go-ethereum's `p2p/discover/table.go`: buckets of [`BUCKET_SIZE`] live
//! entries, each with up to [`REPLACEMENTS_MAX`] replacements; at most [`BUCKET_SUBNET_MAX`]
//! nodes of one subnet per bucket and [`TABLE_SUBNET_MAX`] per table, LAN and loopback exempt;
//! entries are revalidated by ping and replaced when they stop answering.
//!
//! The discovery state machine drives it:
//! - a node heard of from a third party (a `Neighbors` entry, a bootnode) goes in through
//!   [`Table::add_seen`]; a node that answered our `Ping` (endpoint proven) through
//!   [`Table::add_verified`];
//! - it sends a `Ping` to each node [`Table::poll_revalidate`] returns, and reports the `Pong` or
//!   its absence through [`Table::handle_revalidation_result`]; it wakes for
//!   [`Table::poll_timeout`];
//! - it answers `FindNode` with [`Table::closest_live`], seeds lookups with [`Table::closest`] and
//!   feeds the dial scheduler with [`Table::random_nodes`].
//!
//! Time is [`UnixMs`] passed in; the only randomness is the seed given to [`Table::new`]; all
//! collections iterate in a fixed order, so the same inputs give the same table.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::crypto::{NodeId, PublicKey};
use crate::netutil::{Cidr, is_lan};
use crate::time::{Millis, UnixMs};

/// Live entries per bucket: k = 16, discv4.md "Kademlia Table" and go-ethereum's `bucketSize`.
pub const BUCKET_SIZE: usize = 16;

/// Replacement candidates kept per bucket: 10, go-ethereum's `maxReplacements`. The newest are
/// kept, as a recently heard-of node is the likeliest to be alive when a slot frees up.
pub const REPLACEMENTS_MAX: usize = 10;

/// Number of buckets: 17, go-ethereum's `nBuckets` (256 / 15). Among N random ids the closest
/// to ours is at log distance about 256 - log2(N); distances below [`BUCKET_DISTANCE_MIN`] would
/// need a network of 2^17 nodes to be populated at all, so they share the first bucket.
pub const BUCKET_COUNT: usize = 17;

/// Log distances at or below this share bucket 0: 256 - [`BUCKET_COUNT`] = 239, go-ethereum's
/// `bucketMinDistance`. Bucket `i > 0` holds distance `BUCKET_DISTANCE_MIN + 1 + i`.
pub const BUCKET_DISTANCE_MIN: u32 = 256 - BUCKET_COUNT as u32;

/// Nodes (entries plus replacements) of one subnet a bucket may hold: 2, go-ethereum's
/// `bucketIPLimit`. An attacker with one subnet cannot fill a bucket and eclipse us.
pub const BUCKET_SUBNET_MAX: usize = 2;

/// Nodes (entries plus replacements) of one subnet the whole table may hold: 10, go-ethereum's
/// `tableIPLimit`.
pub const TABLE_SUBNET_MAX: usize = 10;

/// The IPv4 subnet the limits count: /24, go-ethereum's `bucketSubnet` / `tableSubnet`, the
/// smallest block commonly routed to one operator.
pub const SUBNET_PREFIX_V4: u8 = 24;

/// The IPv6 subnet the limits count: /48. go-ethereum applies /24 to IPv6 too, which lumps whole
/// regional registries together; /64 would let one end site (RFC 6177 assigns /48 to /56) pose
/// as 2^16 subnets. /48 is one site, so a site counts once and unrelated sites rarely collide.
pub const SUBNET_PREFIX_V6: u8 = 48;

/// Mean time between two revalidation pings: 3 s, go-ethereum's default `PingInterval` (its
/// "fast" revalidation list, which holds new and recently failed entries). We ping one entry per
/// interval, so a full table of 272 entries is cycled in about 14 minutes.
pub const REVALIDATE_INTERVAL: Millis = 3_000;

/// How long a revalidation may stay unreported before the table forgets it and picks the next:
/// 10 s, well past discv4's 500 ms reply timeout, so only a caller bug trips it and it cannot
/// stall revalidation for good.
pub const REVALIDATION_EXPIRY: Millis = 10_000;

/// The XOR log distance of two ids: 0 when equal, else 256 minus the number of leading zero bits
/// of `a XOR b` (discv4.md "Kademlia Table"), so 1..=256.
pub fn log_distance(a: &NodeId, b: &NodeId) -> u32 {
    let mut zeros = 0u32;
    for (x, y) in a.0.iter().zip(b.0.iter()) {
        let d = x ^ y;
        if d == 0 {
            zeros += 8;
        } else {
            zeros += d.leading_zeros();
            break;
        }
    }
    256 - zeros
}

/// Which of `a` and `b` is closer to `target` by XOR distance (`Less`: `a` is closer).
pub fn distance_cmp(target: &NodeId, a: &NodeId, b: &NodeId) -> Ordering {
    for ((t, x), y) in target.0.iter().zip(a.0.iter()).zip(b.0.iter()) {
        let ord = (t ^ x).cmp(&(t ^ y));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// The bucket index for a log distance (see [`BUCKET_DISTANCE_MIN`]).
pub fn bucket_index(distance: u32) -> usize {
    if distance <= BUCKET_DISTANCE_MIN {
        0
    } else {
        (distance - BUCKET_DISTANCE_MIN - 1) as usize
    }
}

/// A discovery node: identity and endpoints, as `Neighbors` and ENRs carry them.
///
/// The table indexes by `id` and trusts it to be `keccak256(key)`; [`Node::new`] derives it.
/// Tests may set any id to place nodes at chosen distances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// keccak-256 of `key`: the Kademlia identity.
    pub id: NodeId,
    /// The node's public key (for RLPx dials and to match signed replies).
    pub key: PublicKey,
    /// The IP address discovery packets go to.
    pub ip: IpAddr,
    /// The discovery (UDP) port.
    pub udp: u16,
    /// The RLPx (TCP) port; 0 when the node does not accept connections.
    pub tcp: u16,
    /// The sequence number of the node's ENR we know (EIP-868); 0 when we have none.
    pub enr_seq: u64,
}

impl Node {
    /// A node with its id derived from `key` and no known ENR.
    pub fn new(key: PublicKey, ip: IpAddr, udp: u16, tcp: u16) -> Node {
        Node {
            id: key.node_id(),
            key,
            ip,
            udp,
            tcp,
            enr_seq: 0,
        }
    }

    /// Where discovery packets for this node go.
    pub fn udp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.udp)
    }

    /// Where RLPx dials for this node go.
    pub fn tcp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.tcp)
    }
}

/// A node in the table (a bucket entry or a replacement) with its liveness record.
///
/// `last_pong` is the table's half of the endpoint proof (discv4.md "Endpoint Proof"): when the
/// node last answered a `Ping` of ours. The discovery state machine still keeps its own record
/// for nodes outside the table and for `Ping`s received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The node.
    pub node: Node,
    /// When the node entered the table (as entry or replacement).
    pub added_at: UnixMs,
    /// When the node last answered our `Ping`; `None` if it never has since it was added.
    pub last_pong: Option<UnixMs>,
    /// Revalidations answered, decayed on failure (go-ethereum's `livenessChecks`): a node that
    /// answered many times survives a lost packet or two.
    pub liveness_checks: u32,
    /// When the node was last revalidated (or added); orders the revalidation round-robin.
    checked_at: UnixMs,
    /// The last revalidation failed but the node was kept: check it again first.
    recheck: bool,
}

impl Entry {
    fn new(node: Node, now: UnixMs, verified: bool) -> Entry {
        Entry {
            node,
            added_at: now,
            last_pong: verified.then_some(now),
            liveness_checks: u32::from(verified),
            checked_at: now,
            recheck: false,
        }
    }

    /// Revalidation order: never-verified and recently failed entries first, then the one
    /// checked longest ago; the id breaks ties so the order is total.
    fn revalidation_key(&self) -> (bool, UnixMs, NodeId) {
        let urgent = self.liveness_checks == 0 || self.recheck;
        (!urgent, self.checked_at, self.node.id)
    }
}

/// Where [`Table::add_seen`] or [`Table::add_verified`] put a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// It became a bucket entry.
    Inserted,
    /// Its bucket is full: it is (now, or still) a replacement, at the front.
    Replacement,
    /// It was already an entry; nothing changed.
    Present,
    /// It was already an entry; its liveness or endpoint was updated.
    Updated,
}

/// Why a node was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddRefusal {
    /// The node is us.
    IsSelf,
    /// Its bucket already holds [`BUCKET_SUBNET_MAX`] nodes of its subnet.
    BucketSubnetLimit,
    /// The table already holds [`TABLE_SUBNET_MAX`] nodes of its subnet.
    TableSubnetLimit,
}

impl fmt::Display for AddRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddRefusal::IsSelf => f.write_str("node is the local node"),
            AddRefusal::BucketSubnetLimit => {
                write!(f, "bucket holds {BUCKET_SUBNET_MAX} nodes of the subnet")
            }
            AddRefusal::TableSubnetLimit => {
                write!(f, "table holds {TABLE_SUBNET_MAX} nodes of the subnet")
            }
        }
    }
}

impl std::error::Error for AddRefusal {}

/// What [`Table::handle_revalidation_result`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revalidated {
    /// The node is not a bucket entry (removed meanwhile); nothing changed.
    Unknown,
    /// The node answered. `enr_changed`: its `Pong` announced a newer ENR than we know; fetch
    /// it with `ENRRequest` and pass the updated node to [`Table::add_verified`].
    Alive {
        /// The announced sequence number is above [`Node::enr_seq`].
        enr_changed: bool,
    },
    /// The node did not answer but has answered often enough before to keep its slot; it is
    /// checked again first.
    Kept,
    /// The node did not answer and was removed; `promoted` took its slot.
    Removed {
        /// The replacement promoted to an entry, if the bucket had one.
        promoted: Option<Node>,
    },
}

/// One bucket: live entries and replacements, each newest first by insertion rule.
#[derive(Debug, Clone, Default)]
struct Bucket {
    entries: Vec<Entry>,
    replacements: Vec<Entry>,
}

impl Bucket {
    fn entry_pos(&self, id: &NodeId) -> Option<usize> {
        self.entries.iter().position(|e| e.node.id == *id)
    }

    fn replacement_pos(&self, id: &NodeId) -> Option<usize> {
        self.replacements.iter().position(|e| e.node.id == *id)
    }

    /// Nodes of `subnet` among entries and replacements.
    fn subnet_count(&self, subnet: IpAddr) -> usize {
        self.entries
            .iter()
            .chain(self.replacements.iter())
            .filter(|e| subnet_of(e.node.ip) == Some(subnet))
            .count()
    }
}

/// The subnet a node's IP counts against, or `None` for LAN and loopback addresses, which are
/// exempt from the limits (a local test network may put every node on one host).
fn subnet_of(ip: IpAddr) -> Option<IpAddr> {
    let ip = ip.to_canonical();
    if is_lan(ip) {
        return None;
    }
    let prefix = match ip {
        IpAddr::V4(_) => SUBNET_PREFIX_V4,
        IpAddr::V6(_) => SUBNET_PREFIX_V6,
    };
    Cidr::new(ip, prefix).map(|c| c.addr())
}

/// The node table. See the module docs for how the discovery state machine drives it.
#[derive(Debug, Clone)]
pub struct Table {
    self_id: NodeId,
    buckets: Vec<Bucket>,
    /// Nodes (entries and replacements) per non-exempt subnet, for [`TABLE_SUBNET_MAX`].
    subnets: BTreeMap<IpAddr, usize>,
    /// The revalidation handed out and not yet reported, with when it was handed out.
    revalidating: Option<(NodeId, UnixMs)>,
    next_revalidate: UnixMs,
    now: UnixMs,
    rng: u64,
}

impl Table {
    /// An empty table for the local node `self_id`. `seed` drives revalidation jitter and
    /// [`Table::random_nodes`]; the shell passes OS randomness, tests a fixed value.
    pub fn new(self_id: NodeId, seed: u64) -> Table {
        Table {
            self_id,
            buckets: vec![Bucket::default(); BUCKET_COUNT],
            subnets: BTreeMap::new(),
            revalidating: None,
            next_revalidate: UnixMs(0),
            now: UnixMs(0),
            rng: seed,
        }
    }

    /// Our own id.
    pub fn self_id(&self) -> NodeId {
        self.self_id
    }

    /// A node we heard of from someone else (a `Neighbors` entry, a bootnode): it becomes an
    /// entry at the back of its bucket if there is room, else a replacement. An existing entry
    /// is left as it is: a third party's word must not overwrite an endpoint the node proved.
    pub fn add_seen(&mut self, now: UnixMs, node: Node) -> Result<AddOutcome, AddRefusal> {
        self.tick(now);
        let b = self.bucket_of(&node.id)?;
        if self.buckets[b].entry_pos(&node.id).is_some() {
            return Ok(AddOutcome::Present);
        }
        if self.buckets[b].entries.len() >= BUCKET_SIZE {
            return self.add_replacement(b, Entry::new(node, now, false));
        }
        self.take_replacement(b, &node.id);
        self.check_subnet(b, node.ip)?;
        self.track(node.ip, true);
        self.buckets[b].entries.push(Entry::new(node, now, false));
        Ok(AddOutcome::Inserted)
    }

    /// A node that answered our `Ping` just now: it becomes an entry at the front of its bucket
    /// if there is room (taken out of the replacements if it was there), else a replacement. An
    /// existing entry is marked live and takes the node's endpoint and ENR sequence number if
    /// they changed (subject to the subnet limits).
    pub fn add_verified(&mut self, now: UnixMs, node: Node) -> Result<AddOutcome, AddRefusal> {
        self.tick(now);
        let b = self.bucket_of(&node.id)?;
        if let Some(i) = self.buckets[b].entry_pos(&node.id) {
            return self.update_entry(now, b, i, node);
        }
        if self.buckets[b].entries.len() >= BUCKET_SIZE {
            return self.add_replacement(b, Entry::new(node, now, true));
        }
        self.take_replacement(b, &node.id);
        self.check_subnet(b, node.ip)?;
        self.track(node.ip, true);
        self.buckets[b]
            .entries
            .insert(0, Entry::new(node, now, true));
        Ok(AddOutcome::Inserted)
    }

    /// Removes a node (entry or replacement). A removed entry's slot goes to the newest
    /// replacement. Returns the removed node.
    pub fn remove(&mut self, id: &NodeId) -> Option<Node> {
        let b = self.bucket_of(id).ok()?;
        if let Some(old) = self.take_replacement(b, id) {
            return Some(old);
        }
        let i = self.buckets[b].entry_pos(id)?;
        let (old, _) = self.remove_entry(b, i);
        Some(old)
    }

    /// The next entry to revalidate with a `Ping`, if one is due: one per
    /// [`REVALIDATE_INTERVAL`] (jittered), never two outstanding. Never-verified and recently
    /// failed entries go first, then round-robin by last check.
    pub fn poll_revalidate(&mut self, now: UnixMs) -> Option<Node> {
        self.tick(now);
        if let Some((_, started)) = self.revalidating {
            if now < started.saturating_add(REVALIDATION_EXPIRY) {
                return None;
            }
            self.revalidating = None;
        }
        if now < self.next_revalidate {
            return None;
        }
        let jitter = self.next_random() % REVALIDATE_INTERVAL;
        self.next_revalidate = now.saturating_add(REVALIDATE_INTERVAL / 2 + jitter);
        let entry = self
            .buckets
            .iter()
            .flat_map(|b| b.entries.iter())
            .min_by_key(|e| e.revalidation_key())?;
        let node = entry.node.clone();
        self.revalidating = Some((node.id, now));
        Some(node)
    }

    /// When [`Table::poll_revalidate`] next has something to do; `None` while the table is
    /// empty.
    pub fn poll_timeout(&self) -> Option<UnixMs> {
        if self.is_empty() {
            return None;
        }
        match self.revalidating {
            Some((_, started)) => Some(
                self.next_revalidate
                    .max(started.saturating_add(REVALIDATION_EXPIRY)),
            ),
            None => Some(self.next_revalidate),
        }
    }

    /// The outcome of a revalidation `Ping` to `id`: `alive` with the ENR sequence number its
    /// `Pong` carried (EIP-868; `None` if absent), or no answer in time. An entry that fails
    /// loses two thirds of its liveness count and is removed when that reaches zero, its slot
    /// going to the newest replacement.
    pub fn handle_revalidation_result(
        &mut self,
        now: UnixMs,
        id: &NodeId,
        alive: bool,
        enr_seq: Option<u64>,
    ) -> Revalidated {
        self.tick(now);
        if self.revalidating.is_some_and(|(r, _)| r == *id) {
            self.revalidating = None;
        }
        let Ok(b) = self.bucket_of(id) else {
            return Revalidated::Unknown;
        };
        let Some(i) = self.buckets[b].entry_pos(id) else {
            return Revalidated::Unknown;
        };
        let e = &mut self.buckets[b].entries[i];
        e.checked_at = now;
        if alive {
            e.liveness_checks = e.liveness_checks.saturating_add(1);
            e.last_pong = Some(now);
            e.recheck = false;
            let enr_changed = enr_seq.is_some_and(|s| s > e.node.enr_seq);
            return Revalidated::Alive { enr_changed };
        }
        e.liveness_checks /= 3;
        if e.liveness_checks > 0 {
            e.recheck = true;
            return Revalidated::Kept;
        }
        let (_, promoted) = self.remove_entry(b, i);
        Revalidated::Removed { promoted }
    }

    /// A revalidation that proved nothing either way: our Ping could not be sent (too many
    /// requests outstanding), or its answer may have been among the datagrams we dropped unread
    /// while over the request budget. The entry keeps its liveness count and is checked again
    /// first.
    pub fn handle_revalidation_inconclusive(&mut self, now: UnixMs, id: &NodeId) {
        self.tick(now);
        if self.revalidating.is_some_and(|(r, _)| r == *id) {
            self.revalidating = None;
        }
        let Ok(b) = self.bucket_of(id) else {
            return;
        };
        if let Some(i) = self.buckets[b].entry_pos(id) {
            let e = &mut self.buckets[b].entries[i];
            e.checked_at = now;
            e.recheck = true;
        }
    }

    /// Up to `n` entries closest to `target`, closest first.
    pub fn closest(&self, target: &NodeId, n: usize) -> Vec<Node> {
        self.closest_filtered(target, n, |_| true)
    }

    /// Up to `n` entries closest to `target` that have answered a `Ping` since they were added,
    /// closest first; what we answer `FindNode` with, so we do not spread dead nodes.
    pub fn closest_live(&self, target: &NodeId, n: usize) -> Vec<Node> {
        self.closest_filtered(target, n, |e| e.last_pong.is_some())
    }

    /// Up to `n` distinct entries chosen uniformly at random (from the seeded generator), for
    /// the dial scheduler.
    pub fn random_nodes(&mut self, n: usize) -> Vec<Node> {
        let mut all: Vec<&Node> = self.nodes().collect();
        let take = n.min(all.len());
        let mut state = self.rng;
        for i in 0..take {
            let r = crate::rng::splitmix64(&mut state);
            let j = i + (r % (all.len() - i) as u64) as usize;
            all.swap(i, j);
        }
        let out = all.into_iter().take(take).cloned().collect();
        self.rng = state;
        out
    }

    /// All bucket entries, nearest bucket last, each bucket in its stored order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.buckets
            .iter()
            .flat_map(|b| b.entries.iter().map(|e| &e.node))
    }

    /// The bucket entry for `id`, with its liveness record.
    pub fn entry(&self, id: &NodeId) -> Option<&Entry> {
        let b = self.bucket_of(id).ok()?;
        self.buckets[b].entries.iter().find(|e| e.node.id == *id)
    }

    /// Whether `id` is a bucket entry (replacements do not count).
    pub fn contains(&self, id: &NodeId) -> bool {
        self.entry(id).is_some()
    }

    /// Whether `id` is a replacement.
    pub fn is_replacement(&self, id: &NodeId) -> bool {
        self.bucket_of(id)
            .is_ok_and(|b| self.buckets[b].replacement_pos(id).is_some())
    }

    /// Number of bucket entries.
    pub fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.entries.len()).sum()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(|b| b.entries.is_empty())
    }

    /// Number of replacements over all buckets.
    pub fn replacement_count(&self) -> usize {
        self.buckets.iter().map(|b| b.replacements.len()).sum()
    }

    /// Entries in bucket `i` (0 when out of range).
    pub fn bucket_len(&self, i: usize) -> usize {
        self.buckets.get(i).map_or(0, |b| b.entries.len())
    }

    fn tick(&mut self, now: UnixMs) {
        self.now = self.now.max(now);
    }

    /// The bucket for `id`, or `IsSelf`.
    fn bucket_of(&self, id: &NodeId) -> Result<usize, AddRefusal> {
        match log_distance(&self.self_id, id) {
            0 => Err(AddRefusal::IsSelf),
            d => Ok(bucket_index(d)),
        }
    }

    /// Checks that one more node at `ip` fits bucket `b` and the table.
    fn check_subnet(&self, b: usize, ip: IpAddr) -> Result<(), AddRefusal> {
        let Some(net) = subnet_of(ip) else {
            return Ok(());
        };
        if self.buckets[b].subnet_count(net) >= BUCKET_SUBNET_MAX {
            return Err(AddRefusal::BucketSubnetLimit);
        }
        if self.subnets.get(&net).copied().unwrap_or(0) >= TABLE_SUBNET_MAX {
            return Err(AddRefusal::TableSubnetLimit);
        }
        Ok(())
    }

    /// Counts a node at `ip` in (or out of) the table-wide subnet map.
    fn track(&mut self, ip: IpAddr, add: bool) {
        let Some(net) = subnet_of(ip) else {
            return;
        };
        let count = self.subnets.entry(net).or_insert(0);
        if add {
            *count += 1;
        } else {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.subnets.remove(&net);
            }
        }
    }

    /// Takes `id` out of bucket `b`'s replacements (it is about to become an entry, or is
    /// being removed), so that no node is ever both.
    fn take_replacement(&mut self, b: usize, id: &NodeId) -> Option<Node> {
        let i = self.buckets[b].replacement_pos(id)?;
        let old = self.buckets[b].replacements.remove(i);
        self.track(old.node.ip, false);
        Some(old.node)
    }

    /// Puts `entry` at the front of bucket `b`'s replacements, dropping the oldest beyond
    /// [`REPLACEMENTS_MAX`]. A node already there just moves to the front.
    fn add_replacement(&mut self, b: usize, entry: Entry) -> Result<AddOutcome, AddRefusal> {
        if let Some(i) = self.buckets[b].replacement_pos(&entry.node.id) {
            let mut old = self.buckets[b].replacements.remove(i);
            if entry.last_pong.is_some() {
                old.last_pong = entry.last_pong;
                old.liveness_checks = old.liveness_checks.max(1);
            }
            self.buckets[b].replacements.insert(0, old);
            return Ok(AddOutcome::Replacement);
        }
        self.check_subnet(b, entry.node.ip)?;
        self.track(entry.node.ip, true);
        let reps = &mut self.buckets[b].replacements;
        reps.insert(0, entry);
        if reps.len() > REPLACEMENTS_MAX
            && let Some(dropped) = reps.pop()
        {
            self.track(dropped.node.ip, false);
        }
        Ok(AddOutcome::Replacement)
    }

    /// Marks entry `i` of bucket `b` live and takes `node`'s endpoint and ENR sequence number
    /// if they changed and the new IP fits the subnet limits.
    fn update_entry(
        &mut self,
        now: UnixMs,
        b: usize,
        i: usize,
        node: Node,
    ) -> Result<AddOutcome, AddRefusal> {
        let old_ip = self.buckets[b].entries[i].node.ip;
        if subnet_of(old_ip) != subnet_of(node.ip) {
            // The entry counts in its old subnet only, so the plain check is exact for the new.
            self.check_subnet(b, node.ip)?;
            self.track(old_ip, false);
            self.track(node.ip, true);
        }
        let e = &mut self.buckets[b].entries[i];
        let was_live = e.last_pong.is_some();
        e.last_pong = Some(now);
        e.liveness_checks = e.liveness_checks.max(1);
        e.recheck = false;
        if e.node == node && was_live {
            return Ok(AddOutcome::Present);
        }
        e.node = node;
        Ok(AddOutcome::Updated)
    }

    /// Removes entry `i` of bucket `b` and promotes the newest replacement into its slot.
    fn remove_entry(&mut self, b: usize, i: usize) -> (Node, Option<Node>) {
        let old = self.buckets[b].entries.remove(i);
        self.track(old.node.ip, false);
        if self.revalidating.is_some_and(|(r, _)| r == old.node.id) {
            self.revalidating = None;
        }
        let bucket = &mut self.buckets[b];
        let promoted = if bucket.replacements.is_empty() {
            None
        } else {
            let mut r = bucket.replacements.remove(0);
            // It has not been checked as an entry yet: revalidate it soon.
            r.recheck = true;
            let node = r.node.clone();
            bucket.entries.push(r);
            Some(node)
        };
        (old.node, promoted)
    }

    fn closest_filtered(
        &self,
        target: &NodeId,
        n: usize,
        keep: impl Fn(&Entry) -> bool,
    ) -> Vec<Node> {
        let mut all: Vec<&Node> = self
            .buckets
            .iter()
            .flat_map(|b| b.entries.iter())
            .filter(|e| keep(e))
            .map(|e| &e.node)
            .collect();
        all.sort_by(|a, b| distance_cmp(target, &a.id, &b.id));
        all.into_iter().take(n).cloned().collect()
    }

    fn next_random(&mut self) -> u64 {
        crate::rng::splitmix64(&mut self.rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log distance by the definition: 256 minus the index of the first differing bit.
    fn log_distance_by_bits(a: &NodeId, b: &NodeId) -> u32 {
        for bit in 0..256u32 {
            let byte = (bit / 8) as usize;
            let mask = 0x80u8 >> (bit % 8);
            if (a.0[byte] ^ b.0[byte]) & mask != 0 {
                return 256 - bit;
            }
        }
        0
    }

    #[test]
    fn log_distance_matches_definition() {
        let zero = NodeId([0; 32]);
        assert_eq!(log_distance(&zero, &zero), 0);
        let mut last = [0u8; 32];
        last[31] = 1;
        assert_eq!(log_distance(&zero, &NodeId(last)), 1);
        let mut first = [0u8; 32];
        first[0] = 0x80;
        assert_eq!(log_distance(&zero, &NodeId(first)), 256);
        let mut state = 7u64;
        for i in 0..2000 {
            let mut a = [0u8; 32];
            let mut b = [0u8; 32];
            for (x, y) in a.iter_mut().zip(b.iter_mut()) {
                *x = crate::rng::splitmix64(&mut state) as u8;
                *y = crate::rng::splitmix64(&mut state) as u8;
            }
            // Share a random-length prefix so that small distances occur too.
            let shared = (crate::rng::splitmix64(&mut state) % 33) as usize;
            b[..shared].copy_from_slice(&a[..shared]);
            let (a, b) = (NodeId(a), NodeId(b));
            assert_eq!(
                log_distance(&a, &b),
                log_distance_by_bits(&a, &b),
                "pair {i}"
            );
            assert_eq!(log_distance(&a, &b), log_distance(&b, &a), "pair {i}");
        }
    }

    #[test]
    fn distance_cmp_orders_by_xor() {
        let t = NodeId([0x55; 32]);
        let mut near = [0x55; 32];
        near[31] = 0x54;
        let mut far = [0x55; 32];
        far[0] = 0x54;
        let (near, far) = (NodeId(near), NodeId(far));
        assert_eq!(distance_cmp(&t, &near, &far), Ordering::Less);
        assert_eq!(distance_cmp(&t, &far, &near), Ordering::Greater);
        assert_eq!(distance_cmp(&t, &t, &near), Ordering::Less);
        assert_eq!(distance_cmp(&t, &far, &far), Ordering::Equal);
    }

    #[test]
    fn bucket_layout() {
        assert_eq!(bucket_index(256), BUCKET_COUNT - 1);
        assert_eq!(bucket_index(241), 1);
        assert_eq!(bucket_index(240), 0);
        assert_eq!(bucket_index(BUCKET_DISTANCE_MIN), 0);
        assert_eq!(bucket_index(1), 0);
        for d in 1..=256 {
            assert!(bucket_index(d) < BUCKET_COUNT, "distance {d}");
        }
    }

    #[test]
    fn subnets_and_exemptions() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(subnet_of(ip("1.2.3.4")), Some(ip("1.2.3.0")));
        assert_eq!(subnet_of(ip("::ffff:1.2.3.4")), Some(ip("1.2.3.0")));
        assert_eq!(
            subnet_of(ip("2001:db8:1:2::5")),
            Some(ip("2001:db8:1::")),
            "IPv6 counts by /48"
        );
        for lan in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "::1",
            "fd00::1",
            "fe80::1",
        ] {
            assert_eq!(subnet_of(ip(lan)), None, "{lan} is exempt");
        }
    }
}
