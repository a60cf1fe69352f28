//! Subscriptions over WebSocket (go-ethereum `rpc/subscription.go`, `eth/filters/api.go`,
//! `p2p` PeerEvent): `eth_subscribe` `newHeads` and `newPendingTransactions` (hashes),
//! `admin_subscribe` `peerEvents`, and their unsubscribes. One [`Hub`] on the RPC thread holds
//! every subscription with its connection's bounded outbox; three feeds fill it: new canonical
//! heads read from the store, new pool hashes asked of the loop (both polled every
//! [`POLL_INTERVAL`], only while someone listens), and the loop's peer notices. A connection whose
//! outbox is full is too slow: its outbox is closed, which ends the connection.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use async_channel::Sender;
use serde_json::{Value, json};

use super::api::Backend;
use super::format::{self, data};
use crate::crypto::{hex, os_random};
use crate::server::control::PeerNotice;
use crate::server::eth::eth_request;

/// How often the head and the pool are looked at while someone listens.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Subscriptions one connection may hold at most.
pub const SUBSCRIPTIONS_PER_CONNECTION_MAX: usize = 128;

/// Messages waiting to be written to one connection at most (geth
/// `maxClientSubscriptionBuffer`); a connection this far behind is closed.
pub const OUTBOX_MAX: usize = 20_000;

/// Heads announced per poll at most: after a long sync, the newest ones.
pub const HEADS_PER_POLL_MAX: u64 = 1024;

/// What a subscription listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NewHeads,
    PendingTransactions,
    PeerEvents,
}

impl Kind {
    /// `(namespace, name)` as `<namespace>_subscribe` takes it.
    pub fn parse(namespace: &str, name: &str) -> Option<Kind> {
        match (namespace, name) {
            ("eth", "newHeads") => Some(Kind::NewHeads),
            ("eth", "newPendingTransactions") => Some(Kind::PendingTransactions),
            ("admin", "peerEvents") => Some(Kind::PeerEvents),
            _ => None,
        }
    }

    fn method(self) -> &'static str {
        match self {
            Kind::PeerEvents => "admin_subscription",
            _ => "eth_subscription",
        }
    }
}

struct Sub {
    id: String,
    kind: Kind,
    conn: u64,
    outbox: Sender<String>,
}

/// Every subscription of the RPC thread.
#[derive(Default)]
pub struct Hub {
    subs: RefCell<Vec<Sub>>,
    next_conn: Cell<u64>,
}

impl Hub {
    /// A number for a new connection.
    pub fn connection(&self) -> u64 {
        let n = self.next_conn.get() + 1;
        self.next_conn.set(n);
        n
    }

    /// Subscriptions `conn` holds.
    pub fn count(&self, conn: u64) -> usize {
        self.subs.borrow().iter().filter(|s| s.conn == conn).count()
    }

    /// Registers a subscription; its id (`0x` + 16 random bytes, as geth).
    pub fn add(&self, conn: u64, kind: Kind, outbox: Sender<String>) -> String {
        let mut b = [0u8; 16];
        os_random(&mut b);
        let id = format!("0x{}", hex(&b));
        self.subs.borrow_mut().push(Sub {
            id: id.clone(),
            kind,
            conn,
            outbox,
        });
        id
    }

    /// Removes `conn`'s subscription `id`; false if it has none such.
    pub fn remove(&self, conn: u64, id: &str) -> bool {
        let mut subs = self.subs.borrow_mut();
        let before = subs.len();
        subs.retain(|s| !(s.conn == conn && s.id == id));
        subs.len() < before
    }

    /// Drops everything `conn` held (it closed).
    pub fn remove_connection(&self, conn: u64) {
        self.subs.borrow_mut().retain(|s| s.conn != conn);
    }

    fn wants(&self, kind: Kind) -> bool {
        self.subs.borrow().iter().any(|s| s.kind == kind)
    }

    /// Sends `result` to every subscriber of `kind`; a full outbox is closed (its connection
    /// ends) and its subscriptions dropped.
    fn publish(&self, kind: Kind, result: &Value) {
        let mut subs = self.subs.borrow_mut();
        let mut slow = BTreeSet::new();
        for s in subs.iter().filter(|s| s.kind == kind) {
            let msg = json!({
                "jsonrpc": "2.0",
                "method": kind.method(),
                "params": {"subscription": s.id, "result": result},
            });
            if s.outbox.try_send(msg.to_string()).is_err() {
                s.outbox.close();
                slow.insert(s.conn);
            }
        }
        subs.retain(|s| !slow.contains(&s.conn));
    }
}

/// New canonical heads, read from the store while someone listens.
pub async fn feed_heads(hub: Rc<Hub>, backend: Rc<Backend>) {
    let mut last: Option<u64> = None;
    loop {
        async_io::Timer::after(POLL_INTERVAL).await;
        if !hub.wants(Kind::NewHeads) {
            last = None;
            continue;
        }
        let Ok(head) = super::api::eth::head(&backend).await else {
            continue;
        };
        let from = match last {
            None => {
                last = Some(head);
                continue;
            }
            Some(l) if head <= l => continue,
            Some(l) => (l + 1).max(head.saturating_sub(HEADS_PER_POLL_MAX - 1)),
        };
        for n in from..=head {
            let Ok(Some(block)) = super::api::eth::block_by_number(&backend, n).await else {
                break;
            };
            let Ok(view) = block.view() else {
                break;
            };
            let mut h = format::header(&view.header, &block.hash, 0);
            h.remove("size");
            hub.publish(Kind::NewHeads, &Value::Object(h));
        }
        last = Some(head);
    }
}

/// Transactions new to the pool, asked of the loop while someone listens.
pub async fn feed_pending(hub: Rc<Hub>, backend: Rc<Backend>) {
    let mut known: Option<BTreeSet<[u8; 32]>> = None;
    loop {
        async_io::Timer::after(POLL_INTERVAL).await;
        if !hub.wants(Kind::PendingTransactions) {
            known = None;
            continue;
        }
        let Ok(Some(now)) = backend
            .ask(|r| eth_request(r, |e, _| e.pool_hashes()))
            .await
        else {
            continue;
        };
        let now: BTreeSet<[u8; 32]> = now.into_iter().collect();
        if let Some(k) = &known {
            for h in now.difference(k) {
                hub.publish(Kind::PendingTransactions, &data(h));
            }
        }
        known = Some(now);
    }
}

/// The loop's peer notices as geth's PeerEvents: `add` and `drop` (with its reason).
pub async fn feed_peers(hub: Rc<Hub>, notices: async_channel::Receiver<PeerNotice>) {
    while let Ok(n) = notices.recv().await {
        let ev = match n {
            PeerNotice::Added { id, addr, .. } => {
                json!({"type": "add", "peer": hex(&id.0), "remote": addr.to_string()})
            }
            PeerNotice::Dropped { id, reason } => {
                json!({"type": "drop", "peer": hex(&id.0), "error": reason})
            }
        };
        hub.publish(Kind::PeerEvents, &ev);
    }
}
