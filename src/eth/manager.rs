//! The eth protocol manager (go-ethereum `eth/handler.go`): the event loop's view of every eth
//! peer after its Status, and the decisions that involve more than one peer. Sans-IO: the loop
//! feeds it what peers said and what the storage thread did, and drains [`EthAction`]s.
//!
//! Serving GetBlockHeaders/GetBlockBodies/GetReceipts does not come here: each connection's task
//! answers those from the chain store itself, so bulk chain data never crosses the loop. What does
//! come here: Status (checkpoint 3 of a session), BlockRangeUpdate (eth/69+), the replies to our
//! own requests (for the syncer), block announcements, and the loop's notices that blocks were
//! written. Our BlockRangeUpdate goes to eth/69+ peers when our head moved at least
//! [`RANGE_UPDATE_BLOCKS`] blocks since the last one (devp2p caps/eth.md "BlockRangeUpdate").

use crate::time::Mono;
use std::collections::{BTreeMap, VecDeque};

use super::sync::{LocalHead, PeerHead, SyncAction, SyncConfig, Syncer};
use super::txs::tx_handler::{TxHandler, TxOut, TxStats};
use super::wire::handshake::{ChainHead, StatusError, check_status, our_status};
use super::{BlockHashNumber, BlockRangeUpdate, EthMessage, EthVersion, NewBlock, Status};
use crate::chain::block::{Head, StoredBlock};
use crate::chain::header::{Header, U256};
use crate::chain::spec::ChainSpec;
use crate::p2p::Fault;
use crate::tx::pool::PoolConfig;
use crate::tx::state::AccountsAt;
use crate::tx::validate::{Fork, Rules, TX_GAS_LIMIT_CAP};

pub use crate::p2p::ConnId;

/// Our BlockRangeUpdate goes out when the head moved this many blocks since the last one
/// (go-ethereum sends one every 32 blocks: about one per epoch on mainnet).
pub const RANGE_UPDATE_BLOCKS: u64 = 32;

/// What the manager asks the loop to do.
#[derive(Debug)]
pub enum EthAction {
    /// Send this message to the peer.
    Send { peer: ConnId, msg: EthMessage },
    /// Disconnect the peer for this fault; `why` is for the log.
    Disconnect {
        peer: ConnId,
        fault: Fault,
        why: String,
    },
    /// Write these verified blocks (contiguous, continuing the head) in one atomic batch, then
    /// call [`EthManager::handle_written`].
    Write(Vec<StoredBlock>),
    /// A line for the log at info level; `peer` is the session it is about.
    Log {
        msg: &'static str,
        peer: Option<ConnId>,
        fields: Vec<(&'static str, String)>,
    },
    /// Append this local transaction to the journal.
    Journal(Vec<u8>),
}

/// How the manager runs.
#[derive(Debug, Clone)]
pub struct EthConfig {
    /// Download blocks from peers that are ahead of us (`--syncmode full`); off, we only serve.
    pub sync: bool,
    /// The syncer's knobs.
    pub sync_config: SyncConfig,
    /// The transaction pool's bounds.
    pub pool: PoolConfig,
    /// Seeds the per-peer choices of the propagation policy.
    pub seed: u64,
}

/// One peer past its Status.
#[derive(Debug, Clone)]
struct EthPeer {
    version: EthVersion,
    /// eth/69+: the range the peer last announced (Status or BlockRangeUpdate).
    range: Option<BlockRangeUpdate>,
}

/// The manager: peers, our head, the syncer.
pub struct EthManager {
    spec: ChainSpec,
    head: ChainHead,
    peers: BTreeMap<ConnId, EthPeer>,
    actions: VecDeque<EthAction>,
    /// Head number our last BlockRangeUpdate announced (or the head at start).
    range_announced: u64,
    /// The last block of each batch handed out for writing, oldest first: when its write is
    /// confirmed it is the new head (its time for the fork id, its gas limit and fork for the
    /// transaction rules, its body for NewBlock on pre-merge chains).
    pending_heads: VecDeque<StoredBlock>,
    syncer: Option<Syncer>,
    txs: TxHandler,
    /// The head's header, for the transaction rules.
    head_header: Header,
}

/// The transaction rules at a head: the fork its header's shape shows (Berlin is assumed for
/// a pre-London header, Osaka is not told apart from Prague), and its gas limit. With `wall`
/// (unix seconds; a node that does not follow the head), a later time fork the spec has
/// activated by then wins, with the per-transaction gas cap of EIP-7825 as the gas limit, since
/// the stored head's is out of date.
pub fn rules_at(spec: &ChainSpec, head: &Header, wall: Option<u64>) -> Rules {
    let chain_id = if spec.chain_id != 0 {
        spec.chain_id
    } else {
        spec.network_id
    };
    let shape = fork_of_header(head);
    let by_clock = wall
        .and_then(|t| spec.time_fork_at(t))
        .and_then(fork_named)
        .filter(|f| *f > shape);
    match by_clock {
        Some(fork) => Rules::new(chain_id, fork, head.gas_limit.max(TX_GAS_LIMIT_CAP)),
        None => Rules::new(chain_id, shape, head.gas_limit),
    }
}

/// The transaction rules of a time fork by its name; the blob-parameter-only forks (`bpo1`, …)
/// come after Osaka and change nothing a transaction may be.
fn fork_named(name: &str) -> Option<Fork> {
    match name {
        "shanghai" => Some(Fork::Shanghai),
        "cancun" => Some(Fork::Cancun),
        "prague" => Some(Fork::Prague),
        "osaka" => Some(Fork::Osaka),
        n if n.starts_with("bpo") => Some(Fork::Osaka),
        _ => None,
    }
}

fn fork_of_header(head: &Header) -> Fork {
    if head.requests_hash.is_some() {
        Fork::Prague
    } else if head.blob_gas_used.is_some() {
        Fork::Cancun
    } else if head.withdrawals_root.is_some() {
        Fork::Shanghai
    } else if head.base_fee_per_gas.is_some() {
        Fork::London
    } else {
        Fork::Berlin
    }
}

impl EthManager {
    /// A manager for `spec` with the store's head at `head`, whose header is `head_header`.
    pub fn new(
        spec: ChainSpec,
        head: ChainHead,
        head_header: &Header,
        config: EthConfig,
    ) -> EthManager {
        let txs = TxHandler::new(config.pool, rules_at(&spec, head_header, None), config.seed);
        let merged = spec
            .terminal_total_difficulty
            .is_some_and(|ttd| head.td >= ttd);
        let syncer = config.sync.then(|| {
            Syncer::new(
                SyncConfig {
                    merged,
                    ..config.sync_config
                },
                LocalHead {
                    number: head.number,
                    hash: head.hash,
                    td: head.td,
                },
            )
        });
        EthManager {
            spec,
            range_announced: head.number,
            head,
            peers: BTreeMap::new(),
            actions: VecDeque::new(),
            pending_heads: VecDeque::new(),
            syncer,
            txs,
            head_header: head_header.clone(),
        }
    }

    /// Our chain head as the next Status will state it.
    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// The chain this manager serves.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// Our Status for a session that negotiated `version`.
    pub fn status_for(&self, version: EthVersion) -> Status {
        our_status(version, &self.spec, &self.head)
    }

    /// Eth peers past their Status.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// The negotiated version of a registered peer.
    pub fn peer_version(&self, peer: ConnId) -> Option<EthVersion> {
        self.peers.get(&peer).map(|p| p.version)
    }

    /// Whether the chain is past the Merge at our head: block announcements are then a protocol
    /// violation (EIP-3675).
    pub fn post_merge(&self) -> bool {
        match self.spec.terminal_total_difficulty {
            Some(ttd) => self.head.td >= ttd,
            None => false,
        }
    }

    /// Checkpoint 3: the remote Status of a session that negotiated `version`. On success the
    /// peer is registered and the syncer hears of it; on failure the caller disconnects it with
    /// "subprotocol error" and logs the error.
    pub fn handle_status(
        &mut self,
        now: Mono,
        peer: ConnId,
        version: EthVersion,
        status: &Status,
    ) -> Result<(), StatusError> {
        check_status(version, &self.spec, &self.head, status)?;
        let (range, head) = match status {
            Status::Eth68(s) => (
                None,
                PeerHead {
                    version,
                    hash: s.head,
                    number: None,
                    td: Some(U256(s.td)),
                    earliest: 0,
                },
            ),
            Status::Eth69(s) => (
                Some(BlockRangeUpdate {
                    earliest: s.earliest,
                    latest: s.latest,
                    latest_hash: s.latest_hash,
                }),
                PeerHead {
                    version,
                    hash: s.latest_hash,
                    number: Some(s.latest),
                    td: None,
                    earliest: s.earliest,
                },
            ),
        };
        self.peers.insert(peer, EthPeer { version, range });
        if let Some(s) = self.syncer.as_mut() {
            s.add_peer(now, peer, head);
        }
        self.txs.add_peer(peer);
        self.drain_syncer();
        self.drain_txs();
        Ok(())
    }

    /// A message from a registered peer, other than the requests its task serves.
    pub fn handle_message(&mut self, now: Mono, peer: ConnId, msg: EthMessage) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        match msg {
            EthMessage::Status(_) => {
                // The task refuses a second Status itself; one here is a bug upstream.
                self.disconnect(peer, Fault::CapabilityBreach, "second Status");
            }
            EthMessage::BlockRangeUpdate(r) => {
                if !p.version.has_block_range() {
                    self.disconnect(
                        peer,
                        Fault::CapabilityBreach,
                        "BlockRangeUpdate before eth/69",
                    );
                } else if r.earliest > r.latest {
                    let why = format!(
                        "invalid block range: earliest {} > latest {}",
                        r.earliest, r.latest
                    );
                    self.disconnect(peer, Fault::CapabilityBreach, &why);
                } else {
                    p.range = Some(r);
                    if let Some(s) = self.syncer.as_mut() {
                        s.update_peer(now, peer, r.latest, r.latest_hash);
                    }
                }
            }
            EthMessage::BlockHeaders(_) | EthMessage::BlockBodies(_) | EthMessage::Receipts(_) => {
                let result = match self.syncer.as_mut() {
                    Some(s) => s.handle_response(now, peer, msg).map_err(|e| e.to_string()),
                    None => Err("reply to a request we never sent".to_string()),
                };
                if let Err(why) = result {
                    self.disconnect(peer, Fault::CapabilityBreach, &why);
                }
            }
            EthMessage::NewBlock(_) | EthMessage::NewBlockHashes(_) if self.post_merge() => {
                // EIP-3675: after the Merge, block gossip belongs to the consensus layer.
                self.disconnect(
                    peer,
                    Fault::CapabilityBreach,
                    "block announcement after the Merge",
                );
            }
            // Pre-merge: an announced block is fetched, verified and imported by the syncer,
            // from this peer or others; once written it is propagated (handle_written).
            EthMessage::NewBlock(b) => match b.header() {
                Ok(h) => {
                    self.txs.mark_block_known(peer, h.hash);
                    if let Some(s) = self.syncer.as_mut() {
                        s.announce(now, peer, h.number, h.hash, Some(U256(b.td)));
                    }
                }
                Err(e) => {
                    let why = format!("NewBlock: {e}");
                    self.disconnect(peer, Fault::CapabilityBreach, &why);
                }
            },
            EthMessage::NewBlockHashes(list) => {
                for a in &list {
                    self.txs.mark_block_known(peer, a.hash);
                }
                if let Some(top) = list.iter().max_by_key(|a| a.number)
                    && let Some(s) = self.syncer.as_mut()
                {
                    s.announce(now, peer, top.number, top.hash, None);
                }
            }
            EthMessage::Transactions(list) => {
                let peers = self.peer_ids();
                self.txs.handle_transactions(now, peer, &list, &peers);
            }
            EthMessage::NewPooledTransactionHashes(ann) => {
                self.txs.handle_announce(now, peer, &ann)
            }
            EthMessage::GetPooledTransactions(req) => self.txs.handle_get_pooled(peer, &req),
            EthMessage::PooledTransactions(resp) => {
                let peers = self.peer_ids();
                self.txs.handle_pooled(now, peer, &resp, &peers);
            }
            // Chain requests are answered by the session's task, never here.
            EthMessage::GetBlockHeaders(_)
            | EthMessage::GetBlockBodies(_)
            | EthMessage::GetReceipts(_) => {}
        }
        self.drain_syncer();
        self.drain_txs();
    }

    /// The accounts at one block (an imported state snapshot): while that block is our head,
    /// the pool refuses transactions whose nonce is spent or whose cost the balance does not
    /// cover.
    pub fn set_state(&mut self, state: AccountsAt) {
        self.txs.set_state(state, self.head.hash);
    }

    /// A transaction submitted to this node (`--txs` at start, or the journal's), pooled as
    /// local and pushed to ⌈√n⌉ peers; `journal` appends it to the journal.
    pub fn add_local_tx(
        &mut self,
        now: Mono,
        bytes: &[u8],
        journal: bool,
    ) -> Result<[u8; 32], String> {
        let peers = self.peer_ids();
        let r = self.txs.add_local(now, bytes, journal, &peers);
        self.drain_txs();
        r
    }

    /// Marks a peer the user named (static or trusted), before its Status arrives: if it is
    /// ahead, a sync starts at once.
    pub fn prefer_peer(&mut self, peer: ConnId) {
        if let Some(s) = self.syncer.as_mut() {
            s.prefer_peer(peer);
        }
    }

    /// Transactions in the pool.
    pub fn pool_len(&self) -> usize {
        self.txs.pool().len()
    }

    /// The pool, for reading (JSON-RPC's `txpool_*`).
    pub fn pool(&self) -> &crate::tx::pool::Pool {
        self.txs.pool()
    }

    /// While a sync runs, the highest head a peer told us of (at least our own).
    pub fn sync_target(&self) -> Option<u64> {
        let s = self.syncer.as_ref().filter(|s| s.syncing())?;
        Some(s.highest_peer_head().unwrap_or(0).max(self.head.number))
    }

    /// The transaction counters.
    pub fn tx_stats(&self) -> TxStats {
        self.txs.stats()
    }

    /// The local transactions in the pool, in (sender, nonce) order: what the journal keeps.
    pub fn local_txs(&self) -> Vec<Vec<u8>> {
        self.txs
            .pool()
            .local_txs()
            .map(|t| t.network_rlp.clone())
            .collect()
    }

    fn peer_ids(&self) -> Vec<ConnId> {
        self.peers.keys().copied().collect()
    }

    /// The peer's session ended.
    pub fn handle_closed(&mut self, now: Mono, peer: ConnId) {
        if self.peers.remove(&peer).is_some() {
            if let Some(s) = self.syncer.as_mut() {
                s.remove_peer(now, peer);
            }
            self.txs.remove_peer(now, peer);
        }
        self.drain_syncer();
        self.drain_txs();
    }

    /// The storage thread finished the oldest outstanding [`EthAction::Write`].
    pub fn handle_written(&mut self, now: Mono, result: Result<Head, String>) {
        let mut written_head = None;
        if let Ok(head) = &result {
            let mut new_head = None;
            while let Some(b) = self.pending_heads.front() {
                if b.header.number > head.number {
                    break;
                }
                new_head = self.pending_heads.pop_front();
            }
            if let Some(b) = new_head.filter(|b| b.hash == head.hash) {
                self.head.time = b.header.timestamp;
                self.txs.set_rules(rules_at(&self.spec, &b.header, None));
                self.head_header = b.header.clone();
                written_head = Some((b, head.td));
            }
            self.head.number = head.number;
            self.head.hash = head.hash;
            self.head.td = head.td;
            self.txs.set_head(head.hash);
            if head.number >= self.range_announced.saturating_add(RANGE_UPDATE_BLOCKS) {
                self.announce_range();
            }
        }
        if let Some(s) = self.syncer.as_mut() {
            s.handle_written(now, result);
        }
        // A head block is news only once we have caught up: the batches of a long sync are
        // not announced, the block that ends it is (pre-merge chains only).
        let caught_up = self.syncer.as_ref().is_none_or(|s| !s.syncing());
        if let Some((b, td)) = written_head
            && caught_up
            && !self.post_merge()
        {
            self.propagate_block(&b, td);
        }
        self.drain_syncer();
        self.drain_txs();
    }

    /// The wall clock (unix seconds), for a node that does not sync: its stored head is out of
    /// date, so the transaction rules follow the forks the spec has activated by now.
    pub fn handle_clock(&mut self, unix_secs: u64) {
        if self.syncer.is_none() {
            self.txs
                .set_rules(rules_at(&self.spec, &self.head_header, Some(unix_secs)));
        }
    }

    /// Timers (the syncer's request timeouts and force-sync cycle, the transaction fetcher's).
    pub fn handle_timeout(&mut self, now: Mono) {
        if let Some(s) = self.syncer.as_mut() {
            s.handle_timeout(now);
        }
        self.txs.handle_timeout(now);
        self.drain_syncer();
        self.drain_txs();
    }

    /// When [`EthManager::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Mono> {
        let sync = self.syncer.as_ref().and_then(Syncer::poll_timeout);
        match (sync, self.txs.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A new head block on a pre-merge chain goes whole (NewBlock, with its total difficulty)
    /// to ⌈√n⌉ eth peers that lack it and as NewBlockHashes to the rest (the seed's
    /// BroadcastBlock).
    fn propagate_block(&mut self, block: &StoredBlock, td: U256) {
        let Ok(rlp) = block.block_rlp() else {
            return;
        };
        let peers = self.peer_ids();
        let plan = self.txs.plan_block(block.hash, &peers);
        for peer in plan.new_block {
            self.actions.push_back(EthAction::Send {
                peer,
                msg: EthMessage::NewBlock(NewBlock {
                    block: rlp.clone(),
                    td: td.0,
                }),
            });
        }
        for peer in plan.announce {
            self.actions.push_back(EthAction::Send {
                peer,
                msg: EthMessage::NewBlockHashes(vec![BlockHashNumber {
                    hash: block.hash,
                    number: block.header.number,
                }]),
            });
        }
    }

    /// Moves the transaction handler's requests into ours.
    fn drain_txs(&mut self) {
        while let Some(out) = self.txs.poll() {
            self.actions.push_back(match out {
                TxOut::Send { peer, msg } => EthAction::Send { peer, msg },
                TxOut::Disconnect { peer, fault, why } => {
                    EthAction::Disconnect { peer, fault, why }
                }
                TxOut::Journal(bytes) => EthAction::Journal(bytes),
            });
        }
    }

    /// The next thing for the loop to do.
    pub fn poll_action(&mut self) -> Option<EthAction> {
        self.actions.pop_front()
    }

    fn announce_range(&mut self) {
        self.range_announced = self.head.number;
        let update = BlockRangeUpdate {
            earliest: self.head.earliest.min(self.head.number),
            latest: self.head.number,
            latest_hash: self.head.hash,
        };
        for (&peer, p) in &self.peers {
            if p.version.has_block_range() {
                self.actions.push_back(EthAction::Send {
                    peer,
                    msg: EthMessage::BlockRangeUpdate(update),
                });
            }
        }
    }

    fn disconnect(&mut self, peer: ConnId, fault: Fault, why: &str) {
        if self.peers.contains_key(&peer) {
            self.actions.push_back(EthAction::Disconnect {
                peer,
                fault,
                why: why.to_string(),
            });
        }
    }

    /// Moves the syncer's actions into ours.
    fn drain_syncer(&mut self) {
        let Some(s) = self.syncer.as_mut() else {
            return;
        };
        while let Some(a) = s.poll_action() {
            let action = match a {
                SyncAction::Request { peer, msg } => EthAction::Send { peer, msg },
                SyncAction::Drop { peer, why } => EthAction::Disconnect {
                    peer,
                    fault: Fault::CapabilityUseless,
                    why,
                },
                SyncAction::Write(blocks) => {
                    if let Some(last) = blocks.last() {
                        self.pending_heads.push_back(last.clone());
                    }
                    EthAction::Write(blocks)
                }
                SyncAction::Log { msg, peer, fields } => EthAction::Log { msg, peer, fields },
            };
            self.actions.push_back(action);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::Genesis;
    use crate::eth::Status69;

    const GENESIS: &str = r#"{"config": {"chainId": 4242, "londonBlock": 0,
        "shanghaiTime": 0, "terminalTotalDifficulty": 0}, "timestamp": "0x5", "alloc": {}}"#;

    fn manager(sync: bool) -> EthManager {
        let g = Genesis::from_json(GENESIS).unwrap();
        let spec = ChainSpec::from_genesis(&g, None).unwrap();
        let head = ChainHead::genesis(&spec);
        let header = spec.genesis_header.clone();
        let config = EthConfig {
            sync,
            sync_config: SyncConfig::default(),
            pool: PoolConfig::default(),
            seed: 1,
        };
        EthManager::new(spec, head, &header, config)
    }

    fn status(m: &EthManager, v: EthVersion) -> Status {
        m.status_for(v)
    }

    fn actions(m: &mut EthManager) -> Vec<EthAction> {
        std::iter::from_fn(|| m.poll_action()).collect()
    }

    #[test]
    fn a_good_status_registers_the_peer_and_a_bad_one_does_not() {
        let mut m = manager(false);
        let ok = status(&m, EthVersion::Eth69);
        assert!(
            m.handle_status(Mono(0), ConnId(1), EthVersion::Eth69, &ok)
                .is_ok()
        );
        let Status::Eth69(s) = ok else { panic!() };
        let wrong = Status::Eth69(Status69 { network_id: 1, ..s });
        let e = m
            .handle_status(Mono(0), ConnId(2), EthVersion::Eth69, &wrong)
            .unwrap_err();
        assert!(e.to_string().contains("network id"), "{e}");
        assert_eq!(m.peer_count(), 1);
        assert_eq!(m.peer_version(ConnId(1)), Some(EthVersion::Eth69));
        assert_eq!(m.peer_version(ConnId(2)), None);
    }

    #[test]
    fn our_range_update_goes_to_eth69_peers_every_32_blocks() {
        let mut m = manager(false);
        for (peer, v) in [
            (1, EthVersion::Eth68),
            (2, EthVersion::Eth69),
            (3, EthVersion::Eth70),
        ] {
            let s = status(&m, v);
            m.handle_status(Mono(0), ConnId(peer), v, &s).unwrap();
        }
        actions(&mut m);
        let head = |n: u64| Head {
            number: n,
            hash: [n as u8; 32],
            td: U256::ZERO,
        };
        m.handle_written(Mono(1), Ok(head(31)));
        assert!(
            !actions(&mut m).iter().any(|a| matches!(
                a,
                EthAction::Send {
                    msg: EthMessage::BlockRangeUpdate(_),
                    ..
                }
            )),
            "31 blocks is not enough"
        );
        m.handle_written(Mono(2), Ok(head(32)));
        let sent: Vec<ConnId> = actions(&mut m)
            .into_iter()
            .filter_map(|a| match a {
                EthAction::Send {
                    peer,
                    msg: EthMessage::BlockRangeUpdate(r),
                } => {
                    assert_eq!((r.earliest, r.latest, r.latest_hash), (0, 32, [32; 32]));
                    Some(peer)
                }
                _ => None,
            })
            .collect();
        assert_eq!(sent, [ConnId(2), ConnId(3)], "eth/69 and eth/70 peers only");
        assert_eq!(m.head().number, 32);
    }

    #[test]
    fn block_announcements_after_the_merge_disconnect() {
        let mut m = manager(false);
        assert!(m.post_merge());
        let s = status(&m, EthVersion::Eth68);
        m.handle_status(Mono(0), ConnId(1), EthVersion::Eth68, &s)
            .unwrap();
        actions(&mut m);
        m.handle_message(
            Mono(1),
            ConnId(1),
            EthMessage::NewBlockHashes(vec![BlockHashNumber {
                hash: [1; 32],
                number: 1,
            }]),
        );
        let a = actions(&mut m);
        assert!(
            matches!(
                a.as_slice(),
                [EthAction::Disconnect {
                    peer: ConnId(1),
                    fault: Fault::CapabilityBreach,
                    ..
                }]
            ),
            "{a:?}"
        );
    }

    #[test]
    fn a_node_that_does_not_sync_takes_the_rules_from_the_clock() {
        let spec = ChainSpec::mainnet();
        let genesis = spec.genesis_header.clone();
        // At mainnet's genesis only legacy transactions were possible, and its gas limit
        // (5000) admits none; by the clock of late 2026 Osaka is active.
        let at_head = rules_at(&spec, &genesis, None);
        assert_eq!(at_head.fork, Fork::Berlin);
        let now = rules_at(&spec, &genesis, Some(1_795_000_000));
        assert_eq!(now.fork, Fork::Osaka);
        assert_eq!(now.head_gas_limit, TX_GAS_LIMIT_CAP);
        assert_eq!(now.chain_id, 1);
        // Between Cancun and Prague.
        assert_eq!(
            rules_at(&spec, &genesis, Some(1_720_000_000)).fork,
            Fork::Cancun
        );
        // A custom chain names its forks `…Time`.
        let g = Genesis::from_json(
            r#"{"config": {"chainId": 9, "londonBlock": 0, "shanghaiTime": 0,
                "cancunTime": 100}, "timestamp": "0x0", "alloc": {}}"#,
        )
        .unwrap();
        let spec = ChainSpec::from_genesis(&g, None).unwrap();
        let h = spec.genesis_header.clone();
        assert_eq!(rules_at(&spec, &h, Some(50)).fork, Fork::Shanghai);
        assert_eq!(rules_at(&spec, &h, Some(100)).fork, Fork::Cancun);
    }

    #[test]
    fn a_reply_nobody_asked_for_disconnects() {
        let mut m = manager(true);
        let s = status(&m, EthVersion::Eth69);
        m.handle_status(Mono(0), ConnId(1), EthVersion::Eth69, &s)
            .unwrap();
        actions(&mut m);
        m.handle_message(
            Mono(1),
            ConnId(1),
            EthMessage::BlockHeaders(crate::eth::RawResponse {
                request_id: 77,
                items: crate::eth::RawList::new(),
            }),
        );
        assert!(actions(&mut m).iter().any(|a| matches!(
            a,
            EthAction::Disconnect {
                peer: ConnId(1),
                ..
            }
        )),);
    }
}
