//! `ethpeer node`: geth-style flags → a started node (go-ethereum `node.Node.Start` and
//! `p2p.Server.Start`): lock the datadir, load or create the node key, read static and trusted
//! nodes, start the services in order, bind the listener, log `self=enode://…`, and run the
//! event loop until SIGINT or SIGTERM.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use argh::FromArgs;
use futures_lite::StreamExt;

use super::CliError;
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::spec::ChainSpec;
use ethpeer::enode::Enode;
use ethpeer::eth::EthVersion;
use ethpeer::eth::manager::EthConfig;
use ethpeer::eth::sync::SyncConfig;
use ethpeer::log;
use ethpeer::netutil::Netlist;
use ethpeer::node::NodeConfig;
use ethpeer::p2p::hello::CLIENT_ID_LEN_MAX;
use ethpeer::server::datadir::{self, Datadir};
use ethpeer::server::{self, Config, EthPlan};
use ethpeer::tx::pool::PoolConfig;

pub use ethpeer::server::client_id;

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
    /// comma-separated enode URLs (v4) and enr: records (v5) that seed discovery (default: the
    /// network's own; never dialed, and unused with --nodiscover)
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
    /// run discovery v4: true or false (default true; geth's --discovery.v4)
    #[argh(option, long = "discovery-v4", default = "true")]
    pub discovery_v4: bool,
    /// run discovery v5 on the same UDP port: true or false (default true; geth's
    /// --discovery.v5)
    #[argh(option, long = "discovery-v5", default = "true")]
    pub discovery_v5: bool,
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
    /// serve JSON-RPC over HTTP
    #[argh(switch)]
    pub http: bool,
    /// HTTP-RPC listening address (default: 127.0.0.1; also spelled --http.addr)
    #[argh(
        option,
        long = "http-addr",
        default = "IpAddr::V4(Ipv4Addr::LOCALHOST)"
    )]
    pub http_addr: IpAddr,
    /// HTTP-RPC port (default: 8545; also spelled --http.port)
    #[argh(option, long = "http-port", default = "8545")]
    pub http_port: u16,
    /// APIs offered over HTTP: eth, net, web3, admin, txpool (default: eth,net,web3; also
    /// spelled --http.api)
    #[argh(
        option,
        long = "http-api",
        default = "String::from(ethpeer::rpc::DEFAULT_APIS)"
    )]
    pub http_api: String,
    /// comma-separated origins browsers may call from, * for any (default: none; also spelled
    /// --http.corsdomain)
    #[argh(option, long = "http-corsdomain", default = "String::new()")]
    pub http_corsdomain: String,
    /// comma-separated Host names accepted, * for any (default: localhost; also spelled
    /// --http.vhosts)
    #[argh(option, long = "http-vhosts", default = "String::from(\"localhost\")")]
    pub http_vhosts: String,
    /// serve JSON-RPC over WebSocket
    #[argh(switch)]
    pub ws: bool,
    /// WS-RPC listening address (default: 127.0.0.1; also spelled --ws.addr)
    #[argh(option, long = "ws-addr", default = "IpAddr::V4(Ipv4Addr::LOCALHOST)")]
    pub ws_addr: IpAddr,
    /// WS-RPC port (default: 8546; also spelled --ws.port)
    #[argh(option, long = "ws-port", default = "8546")]
    pub ws_port: u16,
    /// APIs offered over WebSocket (default: eth,net,web3; also spelled --ws.api)
    #[argh(
        option,
        long = "ws-api",
        default = "String::from(ethpeer::rpc::DEFAULT_APIS)"
    )]
    pub ws_api: String,
    /// comma-separated browser origins allowed, * for any (default: http://localhost only;
    /// also spelled --ws.origins)
    #[argh(option, long = "ws-origins", default = "String::new()")]
    pub ws_origins: String,
    /// serve Prometheus metrics at /debug/metrics/prometheus
    #[argh(switch)]
    pub metrics: bool,
    /// metrics listening address (default: 127.0.0.1; also spelled --metrics.addr)
    #[argh(
        option,
        long = "metrics-addr",
        default = "IpAddr::V4(Ipv4Addr::LOCALHOST)"
    )]
    pub metrics_addr: IpAddr,
    /// metrics port (default: 6060; also spelled --metrics.port)
    #[argh(option, long = "metrics-port", default = "6060")]
    pub metrics_port: u16,
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

/// Parses a comma-separated list of enode URLs; empty items are skipped.
/// Reads a record given on the command line (`enr:…`); its signature must verify.
pub fn parse_record(text: &str, what: &str) -> Result<ethpeer::enr::Record, CliError> {
    let r = ethpeer::enr::Record::from_text(text.trim())
        .map_err(|e| CliError::Invalid(format!("{what}: {e}")))?;
    r.verify()
        .map_err(|e| CliError::Invalid(format!("{what}: {e}")))?;
    Ok(r)
}

/// Splits a `--bootnodes` list into enode URLs (discovery v4) and `enr:` records (discovery v5).
pub fn parse_bootnodes(list: &str) -> Result<(Vec<Enode>, Vec<ethpeer::enr::Record>), CliError> {
    let mut enodes = Vec::new();
    let mut records = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if s.starts_with("enr:") {
            records.push(parse_record(s, "--bootnodes")?);
        } else {
            enodes.extend(parse_enodes(s, "--bootnodes")?);
        }
    }
    Ok((enodes, records))
}

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
    let urls: Vec<String> = serde_json::from_str(&text).map_err(|e| {
        CliError::Invalid(format!(
            "{}: expected a JSON array of strings: {e}",
            path.display()
        ))
    })?;
    parse_enodes(&urls.join(","), &path.display().to_string())
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
            let text = super::read_file_bounded(path, super::GENESIS_FILE_SIZE_MAX)?;
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
pub fn prepare(args: &NodeArgs) -> Result<Config, CliError> {
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
    let path = args.datadir.clone().unwrap_or_else(super::default_datadir);
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
    let (bootnodes, bootnodes_v5) = match (&args.bootnodes, &eth) {
        (Some(s), _) => parse_bootnodes(s)?,
        // The network's own bootnodes for both discoveries, as geth starts with; a custom
        // chain has none.
        (None, Some(plan)) => (plan.spec.bootnodes.clone(), plan.spec.bootnodes_v5.clone()),
        (None, None) => (Vec::new(), Vec::new()),
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
    Ok(Config {
        datadir: Some(dd),
        key,
        node: config,
        bootnodes,
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), args.port),
        max_pending,
        ext_ip: nat_ip(args.nat.as_deref())?,
        client_id: client_id(args.identity.as_deref()),
        discovery: !args.nodiscover && (args.discovery_v4 || args.discovery_v5),
        discovery_v4: args.discovery_v4,
        discovery_v5: args.discovery_v5,
        bootnodes_v5,
        rlpx: true,
        network_id: eth.as_ref().map_or(0, |e| e.spec.network_id),
        eth,
        http: http_config(args)?,
        ws: ws_config(args)?,
        metrics: args.metrics.then(|| ethpeer::rpc::metrics::MetricsConfig {
            addr: SocketAddr::new(args.metrics_addr, args.metrics_port),
            limits: ethpeer::rpc::Limits::default(),
        }),
    })
}

/// The APIs of `--http.api`/`--ws.api`; an unknown name is refused, as geth refuses it.
fn apis(flag: &str, list: &str) -> Result<Vec<String>, CliError> {
    let apis = ethpeer::rpc::split_list(list);
    for api in &apis {
        if !["eth", "net", "web3", "admin", "txpool"].contains(&api.as_str()) {
            return Err(CliError::Invalid(format!(
                "{flag}: unknown API {api:?} (eth, net, web3, admin, txpool)"
            )));
        }
    }
    Ok(apis)
}

/// The WS-RPC server from `--ws …`.
fn ws_config(args: &NodeArgs) -> Result<Option<ethpeer::rpc::WsConfig>, CliError> {
    if !args.ws {
        return Ok(None);
    }
    let mut c = ethpeer::rpc::WsConfig::new(SocketAddr::new(args.ws_addr, args.ws_port));
    c.apis = apis("--ws.api", &args.ws_api)?;
    c.origins = ethpeer::rpc::split_list(&args.ws_origins);
    Ok(Some(c))
}

/// The HTTP-RPC server from `--http …`; an unknown API name is refused, as geth refuses it.
fn http_config(args: &NodeArgs) -> Result<Option<ethpeer::rpc::HttpConfig>, CliError> {
    use ethpeer::rpc::{HttpConfig, split_list};
    if !args.http {
        return Ok(None);
    }
    let mut c = HttpConfig::new(SocketAddr::new(args.http_addr, args.http_port));
    c.apis = apis("--http.api", &args.http_api)?;
    c.cors = split_list(&args.http_corsdomain);
    c.vhosts = split_list(&args.http_vhosts);
    Ok(Some(c))
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

/// `ethpeer node`: flags → [`Config`] → [`server::start`] → wait for SIGINT or SIGTERM (or the
/// node stopping on its own) → shutdown: peers get "client quitting", then exit 0.
pub fn run(args: &NodeArgs) -> Result<(), CliError> {
    let config = prepare(args)?;
    run_until_signal(config)
}

/// Starts the node, prints its enode URL on stdout (one line, for scripts, as geth's bootnode
/// does), and stops it on SIGINT or SIGTERM.
pub fn run_until_signal(config: Config) -> Result<(), CliError> {
    run_until_signal_printing(config, false)
}

/// [`run_until_signal`], printing the node record on a second line when `record` (a bootnode
/// serves v4 and v5: the enode for one, the record for the other).
pub fn run_until_signal_printing(config: Config, record: bool) -> Result<(), CliError> {
    let signal = signal_shutdown()?;
    // As geth does at start: the soft descriptor limit up to what the limits may hold, as far as
    // the hard limit allows (the node warns at start if that is still short).
    if let Some(l) = server::fd_budget::raise(config.fd_budget().total())
        && l.now > l.before
    {
        ethpeer::log::debug(
            "Raised the file descriptor limit",
            &[("from", &l.before), ("to", &l.now)],
        );
    }
    let handle = server::start(config).map_err(|e| CliError::Invalid(e.to_string()))?;
    // A reader that takes the first line and closes the pipe must not panic the node: the
    // lines are written without println!'s panic on a broken pipe.
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", handle.enode());
        if let Some(r) = handle.record().filter(|_| record) {
            let _ = writeln!(out, "{r}");
        }
        let _ = out.flush();
    }
    async_io::block_on(futures_lite::future::or(signal, handle.stopped()));
    handle.shutdown();
    Ok(())
}
