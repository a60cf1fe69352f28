//! Starting a node from a program: [`start`] takes a [`Config`], binds the sockets, starts the
//! services (eth), assembles discovery, the node database and the loop on a thread of their own,
//! and returns a [`NodeHandle`] once the node is up (go-ethereum `node.New` + `Node.Start`).
//!
//! The handle talks to the running loop only by message ([`crate::server::control`]): every
//! request carries its own reply channel, the loop answers between its other inputs, and nothing
//! outside ever locks the loop's state. The `ethpeer node` and `ethpeer bootnode` verbs are flags
//! → [`Config`] → [`start`] → wait for a signal → [`NodeHandle::shutdown`].
//!
//! ```
//! use std::time::Duration;
//! use ethpeer::server::{self, Config};
//!
//! // Two nodes in one process, on loopback, without discovery or a datadir.
//! let a = server::start(Config::ephemeral()).unwrap();
//! let b = server::start(Config::ephemeral()).unwrap();
//! let added = b.subscribe().unwrap();
//! b.add_peer(a.enode()).unwrap();
//! // `b` dials `a` and tells its subscribers once the session is admitted...
//! let notice = futures_lite::future::block_on(futures_lite::future::or(
//!     async { added.recv().await.ok() },
//!     async {
//!         async_io::Timer::after(Duration::from_secs(10)).await;
//!         None
//!     },
//! ));
//! assert!(matches!(notice, Some(server::PeerNotice::Added { id, .. }) if id == a.enode().node_id()));
//! // ...by which time `a` is among its peers (the loop answers in order).
//! assert_eq!(b.peers().unwrap()[0].id, a.enode().node_id());
//! a.shutdown();
//! b.shutdown();
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use async_channel::{Receiver, Sender};
use async_executor::LocalExecutor;

use crate::chain::spec::ChainSpec;
use crate::crypto::{NodeId, SecretKey, hex, os_random};
use crate::dial::inbound::InboundThrottle;
use crate::enode::Enode;
use crate::enr::Record;
use crate::eth::EthVersion;
use crate::eth::manager::EthConfig;
use crate::log;
use crate::node::{Node, NodeConfig};
use crate::p2p::{Hello, P2P_VERSION};
use crate::server::control::{
    CONTROL_QUEUE_MAX, ChainInfo, Control, NOTICE_QUEUE_MAX, PeerInfo, PeerNotice,
};
use crate::server::datadir::Datadir;
use crate::server::eth::{EthService, eth_request};
use crate::server::event_loop::{self, ServerConfig};
use crate::server::service::{Service, Services};
use crate::storage::{Db, Worker};
use crate::time::Mono;

mod discovery;

pub use discovery::disc_node;

/// Nodes each discovery table starts from, at most (the node database's newest).
const SEED_NODES_MAX: usize = 256;

/// Says whether the descriptor limit covers what the configured limits may hold: a warn line
/// when it does not (the node still runs; see [`super::fd_budget`]).
fn check_fd_budget(c: &Config) {
    let need = c.fd_budget().total();
    match super::fd_budget::current() {
        Some(limit) if limit < need => log::warn(
            "File descriptor limit is below what the node's limits may hold; when descriptors run out, inbound connections wait",
            &[("limit", &limit), ("budget", &need)],
        ),
        limit => log::debug(
            "File descriptor budget",
            &[
                (
                    "limit",
                    &limit.map_or("none".to_string(), |l| l.to_string()),
                ),
                ("budget", &need),
            ],
        ),
    }
}

/// `<datadir>/enode`: the node's enode URL while it runs, for scripts (removed at a clean stop).
pub const ENODE_FILE: &str = "enode";

/// Everything a node is started from.
pub struct Config {
    /// The locked datadir; `None` runs without one (a bootnode, a test peer): no chain store, no
    /// node database.
    pub datadir: Option<Datadir>,
    /// Our node key.
    pub key: SecretKey,
    /// Peer limits, static and trusted nodes, `--netrestrict`.
    pub node: NodeConfig,
    /// Discovery's first contacts. They seed discovery only, as in geth: with discovery off
    /// they are never dialed.
    pub bootnodes: Vec<Enode>,
    /// Where RLPx listens (TCP); discovery binds the same port number over UDP.
    pub listen: SocketAddr,
    /// Handshakes in progress at most (`--maxpendpeers`).
    pub max_pending: usize,
    /// The address we advertise, when it is not the one we bound (`--nat extip:`).
    pub ext_ip: Option<IpAddr>,
    /// The client id in our Hello.
    pub client_id: String,
    /// Whether discovery runs (`--nodiscover` clears it).
    pub discovery: bool,
    /// With `discovery`: whether v4 and v5 run on the UDP socket (`--discovery.v4`,
    /// `--discovery.v5`).
    pub discovery_v4: bool,
    pub discovery_v5: bool,
    /// Records discovery v5 starts from (`--bootnodes enr:…`).
    pub bootnodes_v5: Vec<Record>,
    /// Whether RLPx runs (a bootnode runs discovery only).
    pub rlpx: bool,
    /// The eth network id, for the logs (0 without eth).
    pub network_id: u64,
    /// The chain and how eth runs; `None` runs the p2p layer alone. Needs a datadir.
    pub eth: Option<EthPlan>,
    /// The JSON-RPC HTTP server (`--http`), if any.
    pub http: Option<crate::rpc::HttpConfig>,
    /// The JSON-RPC WebSocket server (`--ws`), if any.
    pub ws: Option<crate::rpc::WsConfig>,
    /// The metrics server (`--metrics`), if any.
    pub metrics: Option<crate::rpc::metrics::MetricsConfig>,
}

impl Config {
    /// The descriptors this configuration's limits may hold at once.
    pub fn fd_budget(&self) -> super::fd_budget::Budget {
        let servers = [
            self.http.is_some(),
            self.ws.is_some(),
            self.metrics.is_some(),
        ];
        super::fd_budget::Budget::new(
            self.node.max_peers,
            self.node.static_nodes.len() + self.node.trusted.len(),
            self.max_pending,
            servers.iter().filter(|s| **s).count(),
            self.datadir.is_some(),
        )
    }

    /// A p2p-only node on loopback with a fresh key, an ephemeral port, no discovery, no
    /// datadir and no eth: what a test or an embedding program starts from.
    pub fn ephemeral() -> Config {
        Config {
            datadir: None,
            key: SecretKey::generate(os_random),
            node: NodeConfig::default(),
            bootnodes: Vec::new(),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            max_pending: 50,
            ext_ip: None,
            client_id: client_id(None),
            discovery: false,
            discovery_v4: true,
            discovery_v5: false,
            bootnodes_v5: Vec::new(),
            rlpx: true,
            network_id: 0,
            eth: None,
            http: None,
            ws: None,
            metrics: None,
        }
    }
}

/// What the eth service is built from.
pub struct EthPlan {
    pub spec: ChainSpec,
    pub versions: Vec<EthVersion>,
    pub config: EthConfig,
    /// Local transactions to pool and propagate (network encodings).
    pub local_txs: Vec<Vec<u8>>,
}

/// The client id we send in Hello: `ethpeer[/identity]/v<version>/<os>-<arch>`, as geth does.
pub fn client_id(identity: Option<&str>) -> String {
    let mut s = String::from("ethpeer");
    if let Some(i) = identity.filter(|i| !i.is_empty()) {
        s.push('/');
        s.push_str(i);
    }
    s.push_str(&format!(
        "/v{}/{}-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    ));
    s
}

/// Why a node did not start.
#[derive(Debug)]
pub enum StartError {
    /// Binding or registering a socket failed.
    Io { what: String, err: std::io::Error },
    /// A service (eth: the chain store, the journal) did not start.
    Service(String),
    /// Discovery or the node database could not be set up.
    Discovery(String),
    /// The node's thread could not be started, or ended before the node was up.
    Thread(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Io { what, err } => write!(f, "{what}: {err}"),
            StartError::Service(e) => write!(f, "starting services: {e}"),
            StartError::Discovery(e) => f.write_str(e),
            StartError::Thread(e) => write!(f, "node thread: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

fn io(what: impl fmt::Display) -> impl FnOnce(std::io::Error) -> StartError {
    let what = what.to_string();
    move |err| StartError::Io { what, err }
}

/// Why a request to a running node got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// The request queue is full ([`CONTROL_QUEUE_MAX`]); try again.
    Busy,
    /// The node has stopped.
    Stopped,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::Busy => f.write_str("the node is busy"),
            HandleError::Stopped => f.write_str("the node has stopped"),
        }
    }
}

impl std::error::Error for HandleError {}

/// A running node. Dropping it without [`NodeHandle::shutdown`] leaves the node running until
/// the process ends.
#[derive(Debug)]
pub struct NodeHandle {
    enode: Enode,
    listen: Option<SocketAddr>,
    discovery: Option<SocketAddr>,
    record: Option<String>,
    control: Sender<Control>,
    shutdown: Sender<()>,
    stopped: Receiver<()>,
    thread: Option<JoinHandle<()>>,
    /// The JSON-RPC servers, stopped before the node.
    rpc: Option<crate::rpc::RpcServers>,
}

impl NodeHandle {
    /// Our enode URL (a bootnode's has TCP port 0).
    pub fn enode(&self) -> &Enode {
        &self.enode
    }

    /// The bound RLPx (TCP) address, unless RLPx is off.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen
    }

    /// The bound discovery (UDP) address, unless discovery is off.
    pub fn discovery_addr(&self) -> Option<SocketAddr> {
        self.discovery
    }

    /// Our node record as `enr:` text, when discovery runs.
    pub fn record(&self) -> Option<&str> {
        self.record.as_deref()
    }

    /// Where the JSON-RPC HTTP server listens, when it runs.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.rpc.as_ref().and_then(|r| r.http_addr())
    }

    /// Where the metrics server listens, when it runs.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.rpc.as_ref().and_then(|r| r.metrics_addr())
    }

    /// Where the JSON-RPC WebSocket server listens, when it runs.
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.rpc.as_ref().and_then(|r| r.ws_addr())
    }

    /// The admitted peers now.
    pub fn peers(&self) -> Result<Vec<PeerInfo>, HandleError> {
        self.ask(Control::Peers)
    }

    /// Dials `node` and keeps it connected (a static peer; geth `admin_addPeer`).
    pub fn add_peer(&self, node: &Enode) -> Result<(), String> {
        let node = node.clone();
        self.ask(|reply| Control::AddPeer {
            node,
            trusted: false,
            reply,
        })
        .map_err(|e| e.to_string())?
    }

    /// Stops keeping `id` connected and disconnects it (geth `admin_removePeer`).
    pub fn remove_peer(&self, id: &NodeId) -> Result<bool, HandleError> {
        let id = *id;
        self.ask(|reply| Control::RemovePeer {
            id,
            trusted: false,
            reply,
        })
    }

    /// Trusts `node`: admitted over the peer limits (geth `admin_addTrustedPeer`).
    pub fn add_trusted_peer(&self, node: &Enode) -> Result<(), String> {
        let node = node.clone();
        self.ask(|reply| Control::AddPeer {
            node,
            trusted: true,
            reply,
        })
        .map_err(|e| e.to_string())?
    }

    /// Stops trusting `id` (geth `admin_removeTrustedPeer`).
    pub fn remove_trusted_peer(&self, id: &NodeId) -> Result<bool, HandleError> {
        let id = *id;
        self.ask(|reply| Control::RemovePeer {
            id,
            trusted: true,
            reply,
        })
    }

    /// The head and the pool size, when the node runs eth.
    pub fn chain(&self) -> Result<Option<ChainInfo>, HandleError> {
        self.ask(|r| eth_request(r, |e, _| e.chain_info()))
    }

    /// Peer added / dropped notices from now on. A subscriber that falls
    /// [`NOTICE_QUEUE_MAX`] notices behind is dropped: its channel closes.
    pub fn subscribe(&self) -> Result<Receiver<PeerNotice>, HandleError> {
        let (tx, rx) = async_channel::bounded(NOTICE_QUEUE_MAX);
        self.post(Control::Subscribe(tx))?;
        Ok(rx)
    }

    /// Resolves when the node has stopped (by [`NodeHandle::shutdown`] or on its own).
    pub async fn stopped(&self) {
        let _ = self.stopped.recv().await;
    }

    /// Disconnects every peer ("client quitting"), stops the services and waits for the node's
    /// thread to end.
    pub fn shutdown(mut self) {
        if let Some(rpc) = self.rpc.take() {
            rpc.stop();
        }
        let _ = self.shutdown.try_send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Sends one request and waits for its answer.
    fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Control) -> Result<T, HandleError> {
        let (tx, rx) = async_channel::bounded(1);
        self.post(make(tx))?;
        rx.recv_blocking().map_err(|_| HandleError::Stopped)
    }

    /// Queues a request without waiting: a full queue is "busy", a closed one "stopped".
    fn post(&self, c: Control) -> Result<(), HandleError> {
        self.control.try_send(c).map_err(|e| {
            if e.is_full() {
                HandleError::Busy
            } else {
                HandleError::Stopped
            }
        })
    }
}

/// The sockets, bound before anything else starts so that a port in use is reported first.
struct Sockets {
    tcp: Option<std::net::TcpListener>,
    udp: Option<std::net::UdpSocket>,
}

/// Binds the TCP listener and, on the same port number, the discovery socket (geth's default).
fn bind(c: &Config) -> Result<Sockets, StartError> {
    let (tcp, port) = if c.rlpx {
        let l = std::net::TcpListener::bind(c.listen)
            .map_err(io(format!("listening on {}", c.listen)))?;
        let port = l
            .local_addr()
            .map_err(io("reading the listen address"))?
            .port();
        (Some(l), port)
    } else {
        (None, c.listen.port())
    };
    let udp = if c.discovery {
        let addr = SocketAddr::new(c.listen.ip(), port);
        Some(std::net::UdpSocket::bind(addr).map_err(io(format!("listening on udp port {port}")))?)
    } else {
        None
    };
    Ok(Sockets { tcp, udp })
}

/// What the node thread reports once the node is up.
struct Started {
    enode: Enode,
    listen: Option<SocketAddr>,
    discovery: Option<SocketAddr>,
    record: Option<String>,
}

/// Starts a node: binds its sockets here (a port in use is the first thing reported), then runs
/// the services and the loop on a thread of their own, and returns once the node is up.
pub fn start(mut config: Config) -> Result<NodeHandle, StartError> {
    let sockets = bind(&config)?;
    check_fd_budget(&config);
    let rpc =
        crate::rpc::Servers::bind(config.http.take(), config.ws.take(), config.metrics.take())
            .map_err(io("starting the RPC servers"))?;
    let facts = crate::rpc::NodeFacts {
        client_id: config.client_id.clone(),
        enode: Enode::new(config.key.public_key(), config.listen.ip(), 0, 0),
        enr: None,
        listener_port: 0,
        discovery_port: 0,
        datadir: config.datadir.as_ref().map(|d| d.path.clone()),
        chain: config.eth.as_ref().map(|p| p.spec.clone()),
    };
    // One database and one storage thread for the datadir, shared by the chain store, the node
    // database and the RPC server's chain reads (opened here once, so nothing needs a registry
    // of open databases).
    let storage = config
        .datadir
        .as_ref()
        .map(|dd| open_storage(&dd.path))
        .transpose()?;
    let rpc_storage = if rpc.is_empty() {
        None
    } else {
        storage.clone()
    };
    let (control_tx, control_rx) = async_channel::bounded(CONTROL_QUEUE_MAX);
    let (shutdown_tx, shutdown_rx) = async_channel::bounded::<()>(1);
    let (stopped_tx, stopped_rx) = async_channel::bounded::<()>(1);
    let (started_tx, started_rx) = std::sync::mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("ethpeer".into())
        .spawn(move || {
            // Held until the thread ends: its drop closes the channel `stopped()` waits on.
            let _stopped = stopped_tx;
            let shutdown = async move {
                let _ = shutdown_rx.recv().await;
            };
            run(config, sockets, storage, control_rx, shutdown, |r| {
                let _ = started_tx.send(r);
            });
        })
        .map_err(|e| StartError::Thread(e.to_string()))?;
    match started_rx.recv() {
        Ok(Ok(s)) => {
            let mut handle = NodeHandle {
                rpc: None,
                enode: s.enode,
                listen: s.listen,
                discovery: s.discovery,
                record: s.record,
                control: control_tx,
                shutdown: shutdown_tx,
                stopped: stopped_rx,
                thread: Some(thread),
            };
            if !rpc.is_empty() {
                let facts = crate::rpc::NodeFacts {
                    enode: handle.enode.clone(),
                    enr: handle.record.clone(),
                    listener_port: handle.listen.map_or(0, |a| a.port()),
                    discovery_port: handle.discovery.map_or(0, |a| a.port()),
                    ..facts
                };
                match crate::rpc::spawn(rpc, facts, handle.control.clone(), rpc_storage) {
                    Ok(rpc) => handle.rpc = Some(rpc),
                    Err(e) => {
                        handle.shutdown();
                        return Err(io("starting the RPC thread")(e));
                    }
                }
            }
            Ok(handle)
        }
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(StartError::Thread("ended before the node started".into()))
        }
    }
}

/// The node thread: services, discovery, the loop until `shutdown`, then the services stop in
/// reverse order. `started` is called exactly once, with the node's addresses or why it failed.
fn run(
    mut c: Config,
    sockets: Sockets,
    storage: Option<(Db, Arc<Worker>)>,
    control: Receiver<Control>,
    shutdown: impl Future<Output = ()>,
    started: impl FnOnce(Result<Started, StartError>),
) {
    let mut services: Vec<Box<dyn Service>> = Vec::new();
    if let (Some(plan), Some(dd), Some(storage)) = (c.eth.take(), &c.datadir, &storage) {
        log::info(
            "Initialising Ethereum protocol",
            &[
                ("network", &plan.spec.name),
                ("networkid", &plan.spec.network_id),
                ("genesis", &format!("0x{}", hex(&plan.spec.genesis_hash))),
                ("sync", &plan.config.sync),
            ],
        );
        services.push(Box::new(EthService::new(
            dd.path.clone(),
            storage.clone(),
            plan.spec,
            plan.versions,
            plan.config,
            plan.local_txs,
        )));
    }
    let mut services = Services::new(services);
    c.node.protocols = services.protocols();
    if let Err(e) = services.start_all() {
        started(Err(StartError::Service(e.to_string())));
        return;
    }
    let ex = LocalExecutor::new();
    let datadir = c.datadir.take();
    let enode_file = datadir.as_ref().map(|d| d.path.join(ENODE_FILE));
    async_io::block_on(ex.run(async {
        let setup = assemble(
            c,
            sockets,
            &mut services,
            datadir.as_ref().map(|d| &*d.path),
            storage.as_ref(),
            control,
        )
        .await;
        let (node, server, me) = match setup {
            Ok(s) => s,
            Err(e) => {
                started(Err(e));
                return;
            }
        };
        // The file first, so a caller that has the handle finds the file too.
        if let Some(path) = &enode_file
            && let Err(e) = write_atomically(path, format!("{}\n", me.enode).as_bytes())
        {
            log::warn(
                "Cannot write the enode file",
                &[("path", &path.display()), ("err", &e)],
            );
        }
        started(Ok(me));
        event_loop::run(&ex, node, server, shutdown).await;
        if let Some(path) = &enode_file {
            let _ = std::fs::remove_file(path);
        }
    }));
    services.stop_all();
    // The storage thread syncs the database as it ends; then the datadir lock goes.
    drop(storage);
    drop(datadir);
    log::info("Node stopped", &[]);
}

/// Opens the datadir's database and starts its storage thread.
fn open_storage(datadir: &Path) -> Result<(Db, Arc<Worker>), StartError> {
    let db = Db::open(datadir).map_err(|e| StartError::Service(format!("database: {e}")))?;
    let worker = Worker::spawn(&db).map_err(io("starting the storage thread"))?;
    Ok((db, worker))
}

/// Builds discovery, the node database's seeds, Hello and the loop's configuration.
async fn assemble(
    c: Config,
    sockets: Sockets,
    services: &mut Services,
    datadir: Option<&Path>,
    storage: Option<&(Db, Arc<Worker>)>,
    control: Receiver<Control>,
) -> Result<(Node, ServerConfig, Started), StartError> {
    let protocols = services.take_protocols();
    // Our record carries each capability's entries (eth: the EIP-2124 fork id at our head), so
    // that others can judge us before they dial.
    let enr_entries: Vec<(Vec<u8>, Vec<u8>)> =
        protocols.iter().flat_map(|p| p.enr_entries()).collect();
    let (listener, port, bound_ip) = match sockets.tcp {
        Some(l) => {
            let local = l.local_addr().map_err(io("reading the listen address"))?;
            let l = async_net::TcpListener::try_from(l).map_err(io("registering the listener"))?;
            (Some(l), local.port(), local.ip())
        }
        None => (None, c.listen.port(), c.listen.ip()),
    };
    let ip = c.ext_ip.unwrap_or(if bound_ip.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        bound_ip
    });
    let seed = {
        let mut b = [0u8; 8];
        os_random(&mut b);
        u64::from_le_bytes(b)
    };
    let (discovery, discv5, store, store_v5) = match sockets.udp {
        Some(socket) => {
            let d = discovery::assemble(&c, socket, (ip, port), seed, enr_entries, storage).await?;
            (d.v4, d.v5, d.store, d.store_v5)
        }
        None => (None, None, None, None),
    };
    let v5_socket = discv5.as_ref().and_then(|v| v.socket.as_ref());
    let udp_addr = discovery
        .as_ref()
        .map(|(_, s)| s)
        .or(v5_socket)
        .and_then(|s| s.local_addr().ok());
    let udp_port = udp_addr.map_or(port, |a| a.port());
    let pubkey = c.key.public_key();
    // A bootnode listens for nothing over TCP: its URL says so with port 0
    // (`enode://…@IP:0?discport=N`, as its record has no `tcp`), and a node given it neither
    // dials it nor offers it for dialing.
    let tcp_port = if c.rlpx { port } else { 0 };
    let me = Enode::new(pubkey, ip, tcp_port, udp_port);
    let hello = Hello {
        protocol_version: P2P_VERSION,
        client_id: c.client_id.clone(),
        capabilities: c
            .node
            .protocols
            .iter()
            .map(|p| p.capability.clone())
            .collect(),
        listen_port: port,
        id: pubkey,
    };
    let shown = datadir.map_or_else(|| "-".to_string(), |d| d.display().to_string());
    log::info(
        "Started P2P networking",
        &[("self", &me), ("datadir", &shown)],
    );
    let record = discovery
        .as_ref()
        .map(|(d, _)| d.record().to_text())
        .or_else(|| discv5.as_ref().map(|v| v.discovery.record().to_text()));
    if let Some(r) = &record {
        log::info("Node record", &[("enr", r)]);
    }
    log::debug(
        "Node configuration",
        &[
            ("networkid", &c.network_id),
            ("discovery", &c.discovery),
            ("maxpeers", &c.node.max_peers),
            ("static", &c.node.static_nodes.len()),
            ("trusted", &c.node.trusted.len()),
            ("bootnodes", &c.bootnodes.len()),
        ],
    );
    let inbound = InboundThrottle::new(c.max_pending, c.node.netrestrict.clone());
    let node = Node::new(pubkey.node_id(), c.node, Mono(0), seed);
    for (id, addr, why) in node.static_refusals() {
        log::debug(
            "Static node not dialed",
            &[("id", id), ("addr", addr), ("err", why)],
        );
    }
    let listen = listener.as_ref().and_then(|l| l.local_addr().ok());
    let server = ServerConfig {
        key: c.key,
        hello,
        listener,
        inbound,
        discovery,
        discv5,
        store,
        store_v5,
        protocols,
        control: Some(control),
    };
    let started = Started {
        enode: me,
        listen,
        discovery: udp_addr,
        record,
    };
    Ok((node, server, started))
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it into place, so a
/// reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
