//! geth's JSON-RPC API over HTTP (go-ethereum `rpc/` and `node/rpcstack.go`): the servers run on a
//! thread of their own beside the event loop. A request that needs loop state (peers, the pool,
//! the head) goes to the loop as a [`crate::server::control::Control`] message with its own reply
//! channel on the loop's bounded control queue (a full queue answers "the node is busy", never
//! blocks the loop); chain reads go straight to the storage thread through a chain store handle of
//! their own, as eth serving does.
//!
//! [`jsonrpc`] is the JSON-RPC 2.0 envelope (batches, notifications, errors), [`http`] the HTTP
//! transport (hyper) with its limits, [`api`] the method table by namespace, [`format`] the JSON
//! shapes of blocks, transactions and receipts, [`params`] the argument readers, and [`gasprice`]
//! the gas price oracle; [`ws`] serves the same methods over WebSocket with the
//! [`subscriptions`] (`newHeads`, `newPendingTransactions`, `peerEvents`).

pub mod api;
pub mod format;
pub mod gasprice;
pub mod http;
pub mod jsonrpc;
pub mod metrics;
pub mod params;
pub mod subscriptions;
pub mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Request bodies larger than this are refused with 413 before they are read (geth
/// `defaultBodyLimit`, 5 MiB).
pub const BODY_SIZE_MAX: usize = 5 * 1024 * 1024;

/// Calls in one batch at most (geth `BatchRequestLimit`); a larger batch gets one error.
pub const BATCH_ITEMS_MAX: usize = 1000;

/// Response bytes of one batch at most (geth `BatchResponseMaxSize`, 25 MB); calls past it are
/// answered "response too large".
pub const BATCH_RESPONSE_SIZE_MAX: usize = 25 * 1000 * 1000;

/// How long a client has to send a request (headers and body), and how long a keep-alive
/// connection may stay silent (geth `ReadTimeout`, 30 s): a slowloris client cannot hold a slot.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a response may take to be written out (geth `WriteTimeout`, 30 s): a client that
/// does not read cannot hold a slot.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Open HTTP connections at most; more are closed as soon as they are accepted.
pub const CONNECTIONS_MAX: usize = 128;

/// The namespaces served when `--http.api` is not given (geth's default).
pub const DEFAULT_APIS: &str = "eth,net,web3";

/// Limits of one server, from the constants above; tests shorten the timeouts.
#[derive(Debug, Clone)]
pub struct Limits {
    pub body_size_max: usize,
    pub batch_items_max: usize,
    pub batch_response_size_max: usize,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub connections_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_size_max: BODY_SIZE_MAX,
            batch_items_max: BATCH_ITEMS_MAX,
            batch_response_size_max: BATCH_RESPONSE_SIZE_MAX,
            read_timeout: READ_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            connections_max: CONNECTIONS_MAX,
        }
    }
}

/// `--http …`: where the HTTP server listens and what it serves.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `--http.addr`/`--http.port` (geth: 127.0.0.1:8545).
    pub addr: SocketAddr,
    /// `--http.api`: the namespaces served (`admin` and `txpool` only when named).
    pub apis: Vec<String>,
    /// `--http.corsdomain`: origins browsers may call from (`*` for any); empty: none.
    pub cors: Vec<String>,
    /// `--http.vhosts`: accepted `Host` header names (`*` for any; geth: `localhost`).
    pub vhosts: Vec<String>,
    pub limits: Limits,
}

impl HttpConfig {
    /// geth's defaults on `addr`.
    pub fn new(addr: SocketAddr) -> HttpConfig {
        HttpConfig {
            addr,
            apis: split_list(DEFAULT_APIS),
            cors: Vec::new(),
            vhosts: vec!["localhost".into()],
            limits: Limits::default(),
        }
    }
}

/// `--ws …`: where the WebSocket server listens and what it serves.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// `--ws.addr`/`--ws.port` (geth: 127.0.0.1:8546).
    pub addr: SocketAddr,
    /// `--ws.api` (`admin` and `txpool` only when named).
    pub apis: Vec<String>,
    /// `--ws.origins`: browser origins allowed (`*` for any); empty: `http://localhost` only.
    pub origins: Vec<String>,
    pub limits: Limits,
}

impl WsConfig {
    /// geth's defaults on `addr`.
    pub fn new(addr: SocketAddr) -> WsConfig {
        WsConfig {
            addr,
            apis: split_list(DEFAULT_APIS),
            origins: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// A comma-separated flag value as a list, empty items dropped.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// What the methods need to know about the node that never changes while it runs.
#[derive(Debug, Clone)]
pub struct NodeFacts {
    /// The client id (`web3_clientVersion`, `admin_nodeInfo.name`).
    pub client_id: String,
    /// Our enode URL and record.
    pub enode: crate::enode::Enode,
    pub enr: Option<String>,
    /// RLPx and discovery ports (0 when off).
    pub listener_port: u16,
    pub discovery_port: u16,
    /// The datadir (`admin_datadir`), if any.
    pub datadir: Option<PathBuf>,
    /// The chain, when eth runs.
    pub chain: Option<crate::chain::spec::ChainSpec>,
}

/// The running RPC servers: their thread and how to stop it.
#[derive(Debug)]
pub struct RpcServers {
    http: Option<SocketAddr>,
    ws: Option<SocketAddr>,
    metrics: Option<SocketAddr>,
    stop: async_channel::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RpcServers {
    /// Where the HTTP server listens.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http
    }

    /// Where the WebSocket server listens.
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.ws
    }

    /// Where the metrics server listens.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
    }

    /// Closes the listeners and every connection, and waits for the thread.
    pub fn stop(mut self) {
        self.stop.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The listeners and configurations of the servers to run.
#[derive(Debug, Default)]
pub struct Servers {
    pub http: Option<(std::net::TcpListener, HttpConfig)>,
    pub ws: Option<(std::net::TcpListener, WsConfig)>,
    pub metrics: Option<(std::net::TcpListener, metrics::MetricsConfig)>,
}

impl Servers {
    /// Binds what `http` and `ws` ask for (before the node starts, so a port in use is said
    /// first).
    pub fn bind(
        http: Option<HttpConfig>,
        ws: Option<WsConfig>,
        metrics: Option<metrics::MetricsConfig>,
    ) -> std::io::Result<Servers> {
        Ok(Servers {
            http: match http {
                Some(c) => Some((std::net::TcpListener::bind(c.addr)?, c)),
                None => None,
            },
            ws: match ws {
                Some(c) => Some((std::net::TcpListener::bind(c.addr)?, c)),
                None => None,
            },
            metrics: match metrics {
                Some(c) => Some((std::net::TcpListener::bind(c.addr)?, c)),
                None => None,
            },
        })
    }

    /// Whether there is anything to run.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.ws.is_none() && self.metrics.is_none()
    }
}

/// Starts the servers on a thread of their own. `control` is the loop's request queue.
pub fn spawn(
    servers: Servers,
    facts: NodeFacts,
    control: async_channel::Sender<crate::server::control::Control>,
    storage: Option<(crate::storage::Db, std::sync::Arc<crate::storage::Worker>)>,
) -> std::io::Result<RpcServers> {
    let http = match &servers.http {
        Some((l, c)) => {
            let a = l.local_addr()?;
            crate::log::info(
                "HTTP server started",
                &[
                    ("endpoint", &a),
                    ("apis", &c.apis.join(",")),
                    ("cors", &c.cors.join(",")),
                    ("vhosts", &c.vhosts.join(",")),
                ],
            );
            Some(a)
        }
        None => None,
    };
    let ws = match &servers.ws {
        Some((l, c)) => {
            let a = l.local_addr()?;
            crate::log::info(
                "WebSocket enabled",
                &[
                    ("url", &format!("ws://{a}")),
                    ("apis", &c.apis.join(",")),
                    ("origins", &c.origins.join(",")),
                ],
            );
            Some(a)
        }
        None => None,
    };
    let metrics = match &servers.metrics {
        Some((l, _)) => {
            let a = l.local_addr()?;
            crate::log::info(
                "Starting metrics server",
                &[("addr", &format!("http://{a}{}", metrics::PATH))],
            );
            Some(a)
        }
        None => None,
    };
    // Peer notices for `peerEvents`: subscribed now, so none is missed.
    let notices = match &servers.ws {
        Some(_) => {
            let (tx, rx) = async_channel::bounded(crate::server::control::NOTICE_QUEUE_MAX);
            let _ = control.try_send(crate::server::control::Control::Subscribe(tx));
            Some(rx)
        }
        None => None,
    };
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let thread = std::thread::Builder::new()
        .name("rpc".into())
        .spawn(move || run(servers, facts, control, storage, notices, stop_rx))?;
    Ok(RpcServers {
        http,
        ws,
        metrics,
        stop: stop_tx,
        thread: Some(thread),
    })
}

/// A backend with its own chain store handle (when eth runs) serving `apis`: a front-end on the
/// node's one database and storage thread.
fn backend(
    facts: &NodeFacts,
    control: &async_channel::Sender<crate::server::control::Control>,
    storage: Option<&(crate::storage::Db, std::sync::Arc<crate::storage::Worker>)>,
    apis: Vec<String>,
) -> api::Backend {
    use crate::chain::store::ChainStore;
    use crate::chain::store_handle::ChainStoreHandle;
    let chain = match (storage, &facts.chain) {
        (Some((db, worker)), Some(_)) => {
            match ChainStore::on(db.clone()).and_then(|s| ChainStoreHandle::spawn_on(s, worker)) {
                Ok(h) => Some(h),
                Err(e) => {
                    crate::log::warn("RPC: cannot open the chain store", &[("err", &e)]);
                    None
                }
            }
        }
        _ => None,
    };
    api::Backend::new(facts.clone(), control.clone(), chain, apis)
}

/// Accepts on `listener` until `stop` closes, serving each connection as a task.
async fn accept_loop<'a, F: Future<Output = ()> + 'a>(
    ex: &async_executor::LocalExecutor<'a>,
    listener: std::net::TcpListener,
    stop: &async_channel::Receiver<()>,
    serve: impl Fn(async_net::TcpStream) -> F,
) {
    use futures_lite::FutureExt;
    let Ok(listener) = async_net::TcpListener::try_from(listener) else {
        return;
    };
    loop {
        let accept = async { Some(listener.accept().await) };
        let stopped = async {
            let _ = stop.recv().await;
            None
        };
        match accept.or(stopped).await {
            None => break,
            Some(Ok((stream, _))) => ex.spawn(serve(stream)).detach(),
            Some(Err(e)) => {
                crate::log::debug("RPC accept failed", &[("err", &e)]);
                async_io::Timer::after(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The RPC thread: the backends, one executor, the accept loops and feeds until stopped.
fn run(
    servers: Servers,
    facts: NodeFacts,
    control: async_channel::Sender<crate::server::control::Control>,
    storage: Option<(crate::storage::Db, std::sync::Arc<crate::storage::Worker>)>,
    notices: Option<async_channel::Receiver<crate::server::control::PeerNotice>>,
    stop: async_channel::Receiver<()>,
) {
    use std::rc::Rc;
    let ex = async_executor::LocalExecutor::new();
    let metrics = servers.metrics;
    let http = servers.http.map(|(listener, config)| {
        let dispatch = Rc::new(backend(
            &facts,
            &control,
            storage.as_ref(),
            config.apis.clone(),
        ));
        let ctx = Rc::new(http::HttpContext {
            dispatch,
            config,
            open: std::cell::Cell::new(0),
        });
        (listener, ctx)
    });
    let ws = servers.ws.map(|(listener, config)| {
        let backend = Rc::new(backend(
            &facts,
            &control,
            storage.as_ref(),
            config.apis.clone(),
        ));
        let hub = Rc::new(subscriptions::Hub::default());
        ex.spawn(subscriptions::feed_heads(hub.clone(), backend.clone()))
            .detach();
        ex.spawn(subscriptions::feed_pending(hub.clone(), backend.clone()))
            .detach();
        if let Some(n) = notices {
            ex.spawn(subscriptions::feed_peers(hub.clone(), n)).detach();
        }
        let ctx = Rc::new(ws::WsContext {
            backend,
            hub,
            config,
            open: std::cell::Cell::new(0),
        });
        (listener, ctx)
    });
    async_io::block_on(ex.run(async {
        let http = async {
            if let Some((listener, ctx)) = http {
                accept_loop(&ex, listener, &stop, |s| {
                    http::serve_connection(ctx.clone(), s)
                })
                .await;
            }
        };
        let ws = async {
            if let Some((listener, ctx)) = ws {
                accept_loop(&ex, listener, &stop, |s| {
                    ws::serve_connection(ctx.clone(), s)
                })
                .await;
            }
        };
        let metrics = async {
            if let Some((listener, config)) = metrics {
                let ctx = Rc::new(metrics::MetricsContext {
                    control: control.clone(),
                    config,
                    open: std::cell::Cell::new(0),
                });
                accept_loop(&ex, listener, &stop, |s| {
                    metrics::serve_connection(ctx.clone(), s)
                })
                .await;
            }
        };
        futures_lite::future::zip(futures_lite::future::zip(http, ws), metrics).await;
    }));
}
