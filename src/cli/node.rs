//! `ethpeer node`: geth-style flags → a started node (go-ethereum `node.Node.Start` and
//! `p2p.Server.Start`): lock the datadir, load or create the node key, read static and trusted
//! nodes, start the services in order, bind the listener, log `self=enode://…`, and run the
//! event loop until SIGINT or SIGTERM.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use argh::FromArgs;
use async_executor::LocalExecutor;
use futures_lite::StreamExt;

use super::CliError;
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::spec::ChainSpec;
use ethpeer::crypto::SecretKey;
use ethpeer::datadir::{self, Datadir};
use ethpeer::dial::inbound::InboundThrottle;
use ethpeer::discv4::discovery::{Config as DiscConfig, Discovery, StoreOp};
use ethpeer::discv4::table::Node as DiscNode;
use ethpeer::enode::Enode;
use ethpeer::eth::EthVersion;
use ethpeer::eth::manager::EthConfig;
use ethpeer::eth::sync::SyncConfig;
use ethpeer::eth_service::EthService;
use ethpeer::event_loop::{self, ServerConfig};
use ethpeer::log;
use ethpeer::netutil::Netlist;
use ethpeer::node::{Node, NodeConfig};
use ethpeer::nodedb::handle::{HandleConfig, NodeDbHandle};
use ethpeer::nodedb::{NodeRecord, SEED_AGE_MAX};
use ethpeer::p2p::hello::CLIENT_ID_LEN_MAX;
use ethpeer::p2p::{Hello, P2P_VERSION};
use ethpeer::service::{Service, Services};
use ethpeer::tx::pool::PoolConfig;

/// Run a devp2p node.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "node")]
pub struct NodeArgs {
    /// data directory (default: ~/.ethpeer)
    #[argh(option)]
    pub datadir: Option<PathBuf>,
    /// TCP (RLPx) and UDP (discovery) port (default: 30303; 0 picks a free port)
    #[argh(option, default = "30303")]
    pub port: u16,
    /// node key file (default: <datadir>/nodekey, created on first start)
    #[argh(option)]
    pub nodekey: Option<PathBuf>,
    /// node key as 64 hex characters
    #[argh(option)]
    pub nodekeyhex: Option<String>,
    /// custom node name, part of the client id in Hello
    #[argh(option)]
    pub identity: Option<String>,
    /// maximum number of peers (default: 50)
    #[argh(option, default = "50")]
    pub maxpeers: usize,
    /// maximum number of handshakes in progress (default: 50)
    #[argh(option, default = "50")]
    pub maxpendpeers: usize,
    /// one in this many peer slots is dialed by us (default: 3)
    #[argh(option, default = "3")]
    pub dialratio: usize,
    /// comma-separated enode URLs that seed discovery (default: the network's own; never
    /// dialed, and unused with --nodiscover)
    #[argh(option)]
    pub bootnodes: Option<String>,
    /// comma-separated enode URLs to keep connected (also <datadir>/static-nodes.json)
    #[argh(option)]
    pub staticnodes: Option<String>,
    /// comma-separated enode URLs always admitted (also <datadir>/trusted-nodes.json)
    #[argh(option)]
    pub trustednodes: Option<String>,
    /// comma-separated CIDR networks; only nodes inside them are dialed or admitted
    #[argh(option)]
    pub netrestrict: Option<String>,
    /// external address: "extip:IP" or "none" (default: none)
    #[argh(option)]
    pub nat: Option<String>,
    /// disable peer discovery
    #[argh(switch)]
    pub nodiscover: bool,
    /// network id (default: the network's; with --genesis, its chain id)
    #[argh(option)]
    pub networkid: Option<u64>,
    /// built-in network: mainnet, sepolia, holesky or hoodi (default: mainnet)
    #[argh(option)]
    pub network: Option<String>,
    /// genesis.json (geth format) of a custom chain, instead of --network
    #[argh(option)]
    pub genesis: Option<PathBuf>,
    /// full: download blocks from peers that are ahead; none: only serve what is stored
    /// (default: full with --genesis, none on the built-in public networks)
    #[argh(option)]
    pub syncmode: Option<String>,
    /// start a sync as soon as this many eth peers are connected (default: 5; a static or
    /// trusted peer ahead starts one at once, and one starts every 10 s with fewer; also
    /// spelled --sync.minpeers)
    #[argh(option, long = "sync-minpeers", default = "5")]
    pub sync_minpeers: usize,
    /// comma-separated eth versions to offer (default: 68,69,70; also spelled --eth.versions)
    #[argh(option, long = "eth-versions", default = "String::from(\"68,69,70\")")]
    pub eth_versions: String,
    /// run the p2p layer only, without the eth protocol or a chain store (a relay)
    #[argh(switch)]
    pub noeth: bool,
    /// file of local transactions to pool and propagate: one 0x-hex network encoding per line
    /// (kept in <datadir>/transactions.rlp across restarts)
    #[argh(option)]
    pub txs: Option<PathBuf>,
    /// log verbosity 0-5: silent, error, warn, info, debug, trace (default: 3)
    #[argh(option, default = "3")]
    pub verbosity: u8,
    /// log format: terminal or json (default: terminal; also spelled --log.format)
    #[argh(option, long = "log-format", default = "String::from(\"terminal\")")]
    pub log_format: String,
    /// also write the log to this file, appending (also spelled --log.file)
    #[argh(option, long = "log-file")]
    pub log_file: Option<PathBuf>,
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

/// The wall clock in unix milliseconds (discovery's clock, and our first ENR sequence number).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Nodes the table starts from, at most (the node database's newest).
const SEED_NODES_MAX: usize = 256;

/// What discovery asks to remember, written through the storage thread (never blocking).
fn node_store(db: NodeDbHandle) -> Box<dyn FnMut(StoreOp)> {
    Box::new(move |op| {
        let _ = match op {
            StoreOp::Verified { node, at } => {
                let mut r = NodeRecord::new(node.key, node.ip, node.udp, node.tcp);
                r.last_pong_received = at / 1000;
                db.verified(r)
            }
            StoreOp::PingReceived { id, at } => db.set_last_ping_received(id, at / 1000),
            StoreOp::FindnodeFailures { id, count } => db.set_findnode_failures(id, count),
            StoreOp::Enr { id, record } => db.set_enr(id, record),
        };
    })
}

/// A discovery node from an enode URL (its UDP endpoint), if it names an IP.
/// The ENR `eth` entry's value: `[[fork-hash, fork-next]]` (EIP-2124, devp2p enr-entries/eth.md).
fn enr_eth_value(fork_id: &ethpeer::enr::ForkId) -> Vec<u8> {
    let mut s = rlp::RlpStream::new_list(1);
    s.begin_list(2);
    s.append(&fork_id.hash.as_slice());
    s.append(&fork_id.next);
    s.out().to_vec()
}

pub fn disc_node(e: &Enode) -> Option<DiscNode> {
    let udp = e.udp_addr()?;
    Some(DiscNode::new(e.id, udp.ip(), udp.port(), e.tcp))
}

/// Parses a comma-separated list of enode URLs; empty items are skipped.
pub fn parse_enodes(list: &str, what: &str) -> Result<Vec<Enode>, CliError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let e = s
                .parse::<Enode>()
                .map_err(|e| CliError::Invalid(format!("{what}: {s}: {e}")))?;
            resolve(e).map_err(|e| CliError::Invalid(format!("{what}: {s}: {e}")))
        })
        .collect()
}

/// Resolves a host name in an enode URL to an address once, at start, as geth does for the
/// nodes it is given (`enode.ParseV4` looks the name up). An IPv4 address is preferred; a name
/// that does not resolve is an error here rather than a node that is silently never dialed.
pub fn resolve(mut e: Enode) -> Result<Enode, String> {
    use std::net::ToSocketAddrs;
    let ethpeer::enode::Host::Name(name) = &e.host else {
        return Ok(e);
    };
    let addrs: Vec<IpAddr> = (name.as_str(), e.tcp)
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve host {name:?}: {err}"))?
        .map(|a| a.ip())
        .collect();
    let ip = addrs
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("host {name:?} has no address"))?;
    e.host = ethpeer::enode::Host::Ip(ip);
    Ok(e)
}

/// Reads geth's `static-nodes.json` / `trusted-nodes.json`: a JSON array of enode URL strings.
/// A missing file is an empty list.
fn read_node_file(path: &Path) -> Result<Vec<Enode>, CliError> {
    /// A node list larger than this is not a node list.
    const NODE_FILE_SIZE_MAX: u64 = 1 << 20;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(Vec::new());
    };
    if meta.len() > NODE_FILE_SIZE_MAX {
        return Err(CliError::Invalid(format!(
            "{}: larger than {NODE_FILE_SIZE_MAX} bytes",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(CliError::io(path.display()))?;
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| {
            CliError::Invalid(format!(
                "{}: expected a JSON array of strings",
                path.display()
            ))
        })?;
    let mut urls = Vec::new();
    for item in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let url = item
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .ok_or_else(|| {
                CliError::Invalid(format!("{}: {item} is not a string", path.display()))
            })?;
        urls.push(url);
    }
    parse_enodes(&urls.join(","), &path.display().to_string())
}

/// `~/.ethpeer`, or `./.ethpeer` without a home directory.
pub fn default_datadir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".ethpeer"),
        None => PathBuf::from(".ethpeer"),
    }
}

/// The node's external IP from `--nat`, if given.
pub fn nat_ip(nat: Option<&str>) -> Result<Option<IpAddr>, CliError> {
    match nat {
        None | Some("none") | Some("") => Ok(None),
        Some(s) => match s.strip_prefix("extip:") {
            Some(ip) => ip
                .parse()
                .map(Some)
                .map_err(|_| CliError::Invalid(format!("--nat: bad IP address {ip:?}"))),
            None => Err(CliError::Invalid(format!(
                "--nat: {s:?} is not supported (use extip:IP or none)"
            ))),
        },
    }
}

/// Everything `node` sets up before the loop runs; built separately so tests can start nodes.
pub struct Prepared {
    /// The locked datadir (a bootnode runs without one).
    pub datadir: Option<Datadir>,
    pub key: SecretKey,
    pub config: NodeConfig,
    /// Discovery's first contacts (`--bootnodes` or the network's). They seed discovery only,
    /// as in geth: with discovery off they are never dialed.
    pub bootnodes: Vec<Enode>,
    pub listen: SocketAddr,
    pub max_pending: usize,
    pub ext_ip: Option<IpAddr>,
    pub client_id: String,
    /// Whether discovery runs (`--nodiscover` clears it).
    pub discovery: bool,
    /// Whether RLPx runs (a bootnode runs discovery only).
    pub rlpx: bool,
    /// The eth network id (0 without eth).
    pub network_id: u64,
    /// The chain and how eth runs, unless `--noeth`.
    pub eth: Option<EthPlan>,
}

/// What the eth service is built from.
pub struct EthPlan {
    pub spec: ChainSpec,
    pub versions: Vec<EthVersion>,
    pub config: EthConfig,
    /// `--txs`, decoded from hex.
    pub local_txs: Vec<Vec<u8>>,
}

/// Largest `--txs` file read: 64 MiB, twice the pool's byte bound in hex.
const TXS_FILE_SIZE_MAX: usize = 64 * 1024 * 1024;

/// Reads `--txs`: one 0x-hex transaction per line; blank lines and `#` comments are skipped.
fn read_txs(path: &Path) -> Result<Vec<Vec<u8>>, CliError> {
    let text = super::read_file_bounded(path, TXS_FILE_SIZE_MAX)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| CliError::Invalid(format!("{}:{}: {e}", path.display(), i + 1));
        let bytes = ethpeer::crypto::unhex(line.strip_prefix("0x").unwrap_or(line))
            .map_err(|e| at(e.to_string()))?;
        // Undecodable bytes are refused here, at start; a transaction that decodes but the pool
        // refuses (nonce, fee, chain id) is a warning at run time, as geth's pool reports it.
        ethpeer::tx::transaction::decode_network(&bytes)
            .map_err(|e| at(format!("not a transaction: {e}")))?;
        out.push(bytes);
    }
    Ok(out)
}

/// The chain `--network` / `--genesis` / `--networkid` describe.
fn chain_spec(args: &NodeArgs) -> Result<ChainSpec, CliError> {
    let mut spec = match (&args.network, &args.genesis) {
        (Some(_), Some(_)) => {
            return Err(CliError::Invalid(
                "--network and --genesis are mutually exclusive".into(),
            ));
        }
        (None, Some(path)) => {
            let text = super::read_file_bounded(path, super::import::GENESIS_FILE_SIZE_MAX)?;
            let genesis = Genesis::from_json(&text)
                .map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))?;
            return ChainSpec::from_genesis(&genesis, args.networkid)
                .map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())));
        }
        (Some(name), None) => ChainSpec::builtin(name).ok_or_else(|| {
            let names: Vec<_> = ChainSpec::builtin_names().collect();
            CliError::Invalid(format!(
                "--network: {name:?} is not one of {}",
                names.join(", ")
            ))
        })?,
        (None, None) => ChainSpec::mainnet(),
    };
    if let Some(id) = args.networkid {
        spec.network_id = id;
    }
    Ok(spec)
}

/// Refuses limits that make no sense and warns where geth accepts a value but ignores it.
fn check_limits(args: &NodeArgs) -> Result<(usize, usize), CliError> {
    if args.networkid == Some(0) {
        return Err(CliError::Invalid(
            "--networkid: 0 is not a network id".into(),
        ));
    }
    let client = client_id(args.identity.as_deref());
    if client.len() > CLIENT_ID_LEN_MAX {
        return Err(CliError::Invalid(format!(
            "--identity: the client id would be {} bytes, over the {CLIENT_ID_LEN_MAX}-byte \
             limit peers accept in Hello",
            client.len()
        )));
    }
    if args.maxpeers == 0 {
        log::warn(
            "Peer limit is 0: only static and trusted nodes will connect",
            &[("maxpeers", &0)],
        );
    }
    // geth reads 0 as "the default" for both.
    let dial_ratio = if args.dialratio == 0 {
        log::warn("--dialratio 0 means the default", &[("dialratio", &3)]);
        3
    } else {
        args.dialratio
    };
    let max_pending = if args.maxpendpeers == 0 {
        log::warn(
            "--maxpendpeers 0 means the default",
            &[("maxpendpeers", &50)],
        );
        50
    } else {
        args.maxpendpeers
    };
    Ok((dial_ratio, max_pending))
}

/// The eth plan from the flags.
fn eth_plan(args: &NodeArgs) -> Result<Option<EthPlan>, CliError> {
    if args.noeth {
        return Ok(None);
    }
    let spec = chain_spec(args)?;
    let mut versions = Vec::new();
    for v in args.eth_versions.split(',').map(str::trim) {
        let version = v
            .parse::<u64>()
            .ok()
            .and_then(EthVersion::from_number)
            .ok_or_else(|| {
                CliError::Invalid(format!("--eth.versions: {v:?} is not 68, 69 or 70"))
            })?;
        if !versions.contains(&version) {
            versions.push(version);
        }
    }
    // A lightweight node cannot hold a public network's history (mainnet's is over a terabyte,
    // and its peers prune pre-merge blocks, EIP-4444), so it syncs only custom chains unless
    // told otherwise.
    let sync = match args.syncmode.as_deref() {
        None => args.genesis.is_some(),
        Some("full") => true,
        Some("none") => false,
        Some(other) => {
            return Err(CliError::Invalid(format!(
                "--syncmode: {other:?} is not full or none"
            )));
        }
    };
    if args.sync_minpeers == 0 {
        return Err(CliError::Invalid(
            "--sync.minpeers: must be at least 1 (a sync needs a peer)".into(),
        ));
    }
    let sync_config = SyncConfig {
        min_peers: args.sync_minpeers,
        ..SyncConfig::default()
    };
    let local_txs = match &args.txs {
        Some(p) => read_txs(p)?,
        None => Vec::new(),
    };
    let mut seed = [0u8; 8];
    ethpeer::crypto::os_random(&mut seed);
    Ok(Some(EthPlan {
        spec,
        versions,
        config: EthConfig {
            sync,
            sync_config,
            pool: PoolConfig::default(),
            seed: u64::from_le_bytes(seed),
        },
        local_txs,
    }))
}

/// Reads flags and datadir files; locks the datadir.
pub fn prepare(args: &NodeArgs) -> Result<Prepared, CliError> {
    let format = match args.log_format.as_str() {
        "terminal" => log::Format::Terminal,
        "json" => log::Format::Json,
        other => {
            return Err(CliError::Invalid(format!(
                "--log.format: {other:?} is not terminal or json"
            )));
        }
    };
    if args.verbosity > 5 {
        return Err(CliError::Invalid("--verbosity: must be 0 to 5".into()));
    }
    log::init(args.verbosity, format);
    if let Some(p) = &args.log_file {
        log::init_file(p).map_err(CliError::io(format!("--log.file {}", p.display())))?;
    }
    let (dial_ratio, max_pending) = check_limits(args)?;
    let path = args.datadir.clone().unwrap_or_else(default_datadir);
    let dd = Datadir::open(&path).map_err(|e| CliError::Invalid(e.to_string()))?;
    let key = match (&args.nodekey, &args.nodekeyhex) {
        (Some(_), Some(_)) => {
            return Err(CliError::Invalid(
                "--nodekey and --nodekeyhex are mutually exclusive".into(),
            ));
        }
        (Some(f), None) => {
            datadir::read_key_file(f).map_err(|e| CliError::Invalid(e.to_string()))?
        }
        (None, Some(h)) => datadir::parse_key_hex(h)
            .map_err(|e| CliError::Invalid(format!("--nodekeyhex: {e}")))?,
        (None, None) => dd
            .node_key()
            .map_err(|e| CliError::Invalid(e.to_string()))?,
    };
    let mut static_nodes = read_node_file(&dd.path.join("static-nodes.json"))?;
    if let Some(s) = &args.staticnodes {
        static_nodes.extend(parse_enodes(s, "--staticnodes")?);
    }
    let mut trusted_nodes = read_node_file(&dd.path.join("trusted-nodes.json"))?;
    if let Some(s) = &args.trustednodes {
        trusted_nodes.extend(parse_enodes(s, "--trustednodes")?);
    }
    let eth = eth_plan(args)?;
    let bootnodes = match (&args.bootnodes, &eth) {
        (Some(s), _) => parse_enodes(s, "--bootnodes")?,
        // The network's own bootnodes, as geth starts with; a custom chain has none.
        (None, Some(plan)) => plan.spec.bootnodes.clone(),
        (None, None) => Vec::new(),
    };
    let netrestrict = match &args.netrestrict {
        Some(s) => Some(
            s.parse::<Netlist>()
                .map_err(|e| CliError::Invalid(format!("--netrestrict: {e}")))?,
        ),
        None => None,
    };
    let trusted: BTreeSet<_> = trusted_nodes.iter().map(Enode::node_id).collect();
    let config = NodeConfig {
        max_peers: args.maxpeers,
        dial_ratio,
        protocols: Vec::new(),
        trusted,
        static_nodes,
        netrestrict,
    };
    Ok(Prepared {
        datadir: Some(dd),
        key,
        config,
        bootnodes,
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), args.port),
        max_pending,
        ext_ip: nat_ip(args.nat.as_deref())?,
        client_id: client_id(args.identity.as_deref()),
        discovery: !args.nodiscover,
        rlpx: true,
        network_id: eth.as_ref().map_or(0, |e| e.spec.network_id),
        eth,
    })
}

/// `ethpeer node`: runs until SIGINT or SIGTERM, then disconnects peers and exits 0.
pub fn run(args: &NodeArgs) -> Result<(), CliError> {
    let mut prepared = prepare(args)?;
    // Ports first: a port in use is one error line, before anything is opened or logged.
    let sockets = bind(&prepared)?;
    let shutdown = signal_shutdown()?;
    let mut services: Vec<Box<dyn Service>> = Vec::new();
    if let (Some(plan), Some(dd)) = (prepared.eth.take(), &prepared.datadir) {
        log::info(
            "Initialising Ethereum protocol",
            &[
                ("network", &plan.spec.name),
                ("networkid", &plan.spec.network_id),
                (
                    "genesis",
                    &format!("0x{}", ethpeer::crypto::hex(&plan.spec.genesis_hash)),
                ),
                ("sync", &plan.config.sync),
            ],
        );
        services.push(Box::new(EthService::new(
            dd.path.clone(),
            plan.spec,
            plan.versions,
            plan.config,
            plan.local_txs,
        )));
    }
    run_node(prepared, sockets, services, shutdown)
}

/// How old a block with timestamp `time` is, as geth prints it (`3d2h`, `5m10s`, `12s`).
fn head_age(time: u64) -> String {
    let secs = (unix_ms() / 1000).saturating_sub(time);
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}

/// `<datadir>/enode`: the node's enode URL while it runs, for scripts (removed at a clean stop).
pub const ENODE_FILE: &str = "enode";

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

/// The node's sockets, bound before anything else starts.
pub struct Sockets {
    /// The RLPx listener (none for a bootnode).
    tcp: Option<std::net::TcpListener>,
    /// The discovery socket (none with `--nodiscover`).
    udp: Option<std::net::UdpSocket>,
}

/// Binds the TCP listener and, on the same port number, the discovery socket (geth's default).
pub fn bind(p: &Prepared) -> Result<Sockets, CliError> {
    let (tcp, port) = if p.rlpx {
        let l = std::net::TcpListener::bind(p.listen)
            .map_err(CliError::io(format!("listening on {}", p.listen)))?;
        let port = l
            .local_addr()
            .map_err(CliError::io("reading the listen address"))?
            .port();
        (Some(l), port)
    } else {
        (None, p.listen.port())
    };
    let udp = if p.discovery {
        let addr = SocketAddr::new(p.listen.ip(), port);
        Some(
            std::net::UdpSocket::bind(addr)
                .map_err(CliError::io(format!("listening on udp port {port}")))?,
        )
    } else {
        None
    };
    Ok(Sockets { tcp, udp })
}

/// A future that resolves on SIGINT or SIGTERM.
pub fn signal_shutdown() -> Result<impl Future<Output = ()>, CliError> {
    let signals =
        async_signal::Signals::new([async_signal::Signal::Int, async_signal::Signal::Term])
            .map_err(CliError::io("installing signal handlers"))?;
    Ok(async move {
        let mut signals = signals;
        if let Some(Ok(sig)) = signals.next().await {
            log::info(
                "Got interrupt, shutting down...",
                &[("signal", &format!("{sig:?}"))],
            );
        }
    })
}

/// Starts services, binds, runs the loop until `shutdown`, stops services in reverse order.
pub fn run_node(
    p: Prepared,
    sockets: Sockets,
    services: Vec<Box<dyn Service>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), CliError> {
    let mut services = Services::new(services);
    let mut config = p.config;
    config.protocols = services.protocols();
    services
        .start_all()
        .map_err(|e| CliError::Invalid(format!("starting services: {e}")))?;
    let eth = services.take_eth();
    // Our record carries the eth entry (EIP-2124 fork id at our head), so that others can
    // judge us before they dial.
    let enr_entries = match &eth {
        Some(setup) => {
            let head = setup.manager.head();
            log::info(
                "Loaded most recent local block",
                &[
                    ("number", &head.number),
                    ("hash", &format!("0x{}", ethpeer::crypto::hex(&head.hash))),
                    ("age", &head_age(head.time)),
                ],
            );
            let fork_id = setup.manager.spec().enr_eth_entry(head.number, head.time);
            vec![(b"eth".to_vec(), enr_eth_value(&fork_id))]
        }
        None => Vec::new(),
    };
    let ex = LocalExecutor::new();
    let result = async_io::block_on(ex.run(async {
        let (listener, port, bound_ip) = match sockets.tcp {
            Some(l) => {
                let local = l
                    .local_addr()
                    .map_err(CliError::io("reading the listen address"))?;
                let l = async_net::TcpListener::try_from(l)
                    .map_err(CliError::io("registering the listener"))?;
                (Some(l), local.port(), local.ip())
            }
            None => (None, p.listen.port(), p.listen.ip()),
        };
        let ip = p.ext_ip.unwrap_or(if bound_ip.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            bound_ip
        });
        let seed = {
            let mut b = [0u8; 8];
            ethpeer::crypto::os_random(&mut b);
            u64::from_le_bytes(b)
        };
        let mut store = None;
        let discovery = if let Some(socket) = sockets.udp {
            let socket = async_net::UdpSocket::try_from(socket)
                .map_err(CliError::io("registering the UDP socket"))?;
            let udp = socket
                .local_addr()
                .map_err(CliError::io("reading the UDP address"))?
                .port();
            let tcp = if p.rlpx { port } else { 0 };
            let disc_config = DiscConfig {
                ip,
                udp,
                tcp,
                bootnodes: p.bootnodes.iter().filter_map(disc_node).collect(),
                netrestrict: config.netrestrict.clone(),
                seed,
                enr_seq: unix_ms(),
                enr_entries: enr_entries.clone(),
            };
            let mut d = Discovery::new(p.key.clone(), disc_config, unix_ms())
                .map_err(|e| CliError::Invalid(format!("our node record: {e}")))?;
            // The node database remembers who answered us; the table starts from it.
            if let Some(dd) = &p.datadir {
                let db = NodeDbHandle::open(&dd.path, HandleConfig::default())
                    .map_err(|e| CliError::Invalid(format!("node database: {e}")))?;
                let seeds = db
                    .seed_nodes(unix_ms() / 1000, SEED_AGE_MAX, SEED_NODES_MAX)
                    .await
                    .unwrap_or_default();
                log::debug("Seeded the node table", &[("nodes", &seeds.len())]);
                d.add_seeds(
                    unix_ms(),
                    seeds
                        .iter()
                        .map(|r| DiscNode::new(r.key, r.ip, r.udp, r.tcp)),
                );
                store = Some(node_store(db));
            }
            Some((d, socket))
        } else {
            None
        };
        let udp_port = discovery
            .as_ref()
            .and_then(|(_, s)| s.local_addr().ok())
            .map_or(port, |a| a.port());
        let pubkey = p.key.public_key();
        // A bootnode listens for nothing over TCP: its URL says so with port 0
        // (`enode://…@IP:0?discport=N`, as its record has no `tcp`), and a node given it
        // neither dials it nor offers it for dialing.
        let tcp_port = if p.rlpx { port } else { 0 };
        let me = Enode::new(pubkey, ip, tcp_port, udp_port);
        let hello = Hello {
            protocol_version: P2P_VERSION,
            client_id: p.client_id.clone(),
            capabilities: config
                .protocols
                .iter()
                .map(|c| c.capability.clone())
                .collect(),
            listen_port: port,
            id: pubkey,
        };
        let datadir = p
            .datadir
            .as_ref()
            .map_or_else(|| "-".to_string(), |d| d.path.display().to_string());
        log::info(
            "Started P2P networking",
            &[("self", &me), ("datadir", &datadir)],
        );
        // The address for scripts: one line on stdout (as geth's bootnode prints it), and for a
        // node with a datadir the file `<datadir>/enode`, present while the node runs.
        // The file first, so a script that has read the line finds the file too.
        let enode_file = p.datadir.as_ref().map(|d| d.path.join(ENODE_FILE));
        if let Some(path) = &enode_file
            && let Err(e) = write_atomically(path, format!("{me}\n").as_bytes())
        {
            log::warn(
                "Cannot write the enode file",
                &[("path", &path.display()), ("err", &e)],
            );
        }
        println!("{me}");
        if let Some((d, _)) = &discovery {
            log::info("Node record", &[("enr", &d.record().to_text())]);
        }
        log::debug(
            "Node configuration",
            &[
                ("networkid", &p.network_id),
                ("discovery", &p.discovery),
                ("maxpeers", &config.max_peers),
                ("static", &config.static_nodes.len()),
                ("trusted", &config.trusted.len()),
                ("bootnodes", &p.bootnodes.len()),
            ],
        );
        let inbound = InboundThrottle::new(p.max_pending, config.netrestrict.clone());
        let node = Node::new(pubkey.node_id(), config, 0, seed);
        for (id, addr, why) in node.static_refusals() {
            log::debug(
                "Static node not dialed",
                &[("id", id), ("addr", addr), ("err", why)],
            );
        }
        let server = ServerConfig {
            key: p.key.clone(),
            hello,
            listener,
            inbound,
            discovery,
            store,
            eth,
        };
        event_loop::run(&ex, node, server, shutdown).await;
        if let Some(path) = &enode_file {
            let _ = std::fs::remove_file(path);
        }
        Ok::<(), CliError>(())
    }));
    services.stop_all();
    drop(p.datadir);
    log::info("Node stopped", &[]);
    result
}
