//! Discovery's part of start-up (go-ethereum `p2p/server.go` `setupDiscovery`): v4 and v5 on
//! the one UDP socket with the same signed record, their bootnodes, and the node database that
//! seeds both tables and keeps what each learns (devp2p `discv4.md`, `discv5-theory.md` "Node
//! Table").

use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use super::{Config, SEED_NODES_MAX, StartError, io};
use crate::crypto::os_random;
use crate::discv4::discovery::{Config as DiscConfig, Discovery, StoreOp};
use crate::discv4::table::Node as DiscNode;
use crate::discv5::discovery::{Config as Discv5Config, Discovery as Discv5, record_node};
use crate::enode::Enode;
use crate::enr::Record;
use crate::log;
use crate::nodedb::handle::{HandleConfig, NodeDbHandle};
use crate::nodedb::{NodeDb, NodeRecord, SEED_AGE_MAX};
use crate::server::clock::{unix_ms, unix_now};
use crate::server::event_loop::V5Store;
use crate::server::udp::V5Setup;
use crate::storage::{Db, Worker};

/// What discovery brings to the loop.
pub(super) struct Discoveries {
    /// Discovery v4 and the socket, unless `--discovery.v4 false`.
    pub v4: Option<(Discovery, async_net::UdpSocket)>,
    /// Discovery v5 (holding the socket when v4 is off), unless `--discovery.v5 false`.
    pub v5: Option<V5Setup>,
    /// Where each writes the nodes that answered it (with a datadir).
    pub store: Option<Box<dyn FnMut(StoreOp)>>,
    pub store_v5: Option<V5Store>,
}

/// Builds both discoveries on `socket`, advertising `ip` and the RLPx `port`, and seeds their
/// tables from the node database when there is one.
pub(super) async fn assemble(
    c: &Config,
    socket: std::net::UdpSocket,
    (ip, port): (IpAddr, u16),
    seed: u64,
    enr_entries: Vec<(Vec<u8>, Vec<u8>)>,
    storage: Option<&(Db, Arc<Worker>)>,
) -> Result<Discoveries, StartError> {
    let mut store = None;
    let mut store_v5 = None;
    let mut discv5 = None;
    let v5_entries = enr_entries.clone();
    let socket =
        async_net::UdpSocket::try_from(socket).map_err(io("registering the UDP socket"))?;
    let udp = socket
        .local_addr()
        .map_err(io("reading the UDP address"))?
        .port();
    let disc_config = DiscConfig {
        ip,
        udp,
        tcp: if c.rlpx { port } else { 0 },
        bootnodes: c.bootnodes.iter().filter_map(disc_node).collect(),
        netrestrict: c.node.netrestrict.clone(),
        seed,
        enr_seq: unix_ms(),
        enr_entries,
    };
    let mut d = Discovery::new(c.key.clone(), disc_config, unix_now())
        .map_err(|e| StartError::Discovery(format!("our node record: {e}")))?;
    // The node database remembers who answered us; the tables start from it.
    let db = match storage {
        Some((db, worker)) => Some(
            NodeDb::on(db.clone())
                .and_then(|n| NodeDbHandle::spawn_on(n, HandleConfig::default(), worker))
                .map_err(|e| StartError::Discovery(format!("node database: {e}")))?,
        ),
        None => None,
    };
    if let Some(db) = db.as_ref().filter(|_| c.discovery_v4) {
        let seeds = db
            .seed_nodes(unix_ms() / 1000, SEED_AGE_MAX, SEED_NODES_MAX)
            .await
            .unwrap_or_default();
        log::debug("Seeded the node table", &[("nodes", &seeds.len())]);
        d.add_seeds(
            unix_now(),
            seeds
                .iter()
                .map(|r| DiscNode::new(r.key, r.ip, r.udp, r.tcp)),
        );
    }
    if c.discovery_v5 {
        // The same fields, key and sequence number as v4's: the same signed record.
        let v5_config = Discv5Config {
            ip,
            udp,
            tcp: if c.rlpx { port } else { 0 },
            enr_seq: d.record().seq(),
            enr_entries: v5_entries,
            bootnodes: c.bootnodes_v5.clone(),
            seed: seed.rotate_left(17),
            fixed_endpoint: c.ext_ip.is_some(),
        };
        let mut v5 = Discv5::new(c.key.clone(), v5_config, Box::new(os_random), unix_now())
            .map_err(|e| StartError::Discovery(format!("our node record: {e}")))?;
        if let Some(db) = &db {
            let seeds = db
                .seed_nodes_v5(unix_ms() / 1000, SEED_AGE_MAX, SEED_NODES_MAX)
                .await
                .unwrap_or_default();
            let records: Vec<Record> = seeds
                .iter()
                .filter_map(|r| Record::decode_verified(r.enr.as_deref()?).ok())
                .collect();
            log::debug("Seeded the v5 node table", &[("nodes", &records.len())]);
            v5.add_seeds(unix_now(), records);
        }
        discv5 = Some(V5Setup {
            discovery: v5,
            socket: None,
        });
    }
    if let Some(db) = db {
        let db = Rc::new(db);
        store_v5 = Some(node_store_v5(Rc::clone(&db)));
        store = Some(node_store(db));
    }
    let v4 = match (c.discovery_v4, &mut discv5) {
        (false, Some(v5)) => {
            v5.socket = Some(socket);
            None
        }
        _ => Some((d, socket)),
    };
    Ok(Discoveries {
        v4,
        v5: discv5,
        store,
        store_v5,
    })
}

/// What discovery v4 asks to remember, written through the storage thread (never blocking).
fn node_store(db: Rc<NodeDbHandle>) -> Box<dyn FnMut(StoreOp)> {
    Box::new(move |op| {
        let _ = match op {
            StoreOp::Verified { node, at } => {
                let mut r = NodeRecord::new(node.key, node.ip, node.udp, node.tcp);
                r.last_pong_received = at.secs();
                db.verified(r)
            }
            StoreOp::PingReceived { id, at } => db.set_last_ping_received(id, at.secs()),
            StoreOp::FindnodeFailures { id, count } => db.set_findnode_failures(id, count),
            StoreOp::Enr { id, record } => db.set_enr(id, record),
        };
    })
}

/// Discovery v5's nodes that answered, with their records, written the same way.
fn node_store_v5(db: Rc<NodeDbHandle>) -> V5Store {
    Box::new(move |record, at| {
        if let Some(n) = record_node(record) {
            let mut r = NodeRecord::new(n.key, n.ip, n.udp, n.tcp);
            r.enr = Some(record.to_rlp());
            r.last_seen_v5 = at.secs();
            let _ = db.seen_v5(r);
        }
    })
}

/// A discovery node from an enode URL (its UDP endpoint), if it names an IP.
pub fn disc_node(e: &Enode) -> Option<DiscNode> {
    let udp = e.udp_addr()?;
    Some(DiscNode::new(e.id, udp.ip(), udp.port(), e.tcp))
}
