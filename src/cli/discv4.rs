//! `ethpeer discv4 …`: discovery tools in the style of go-ethereum's `devp2p discv4` — ping a
//! node, fetch its record, resolve its current endpoint, crawl the network — and `ethpeer
//! bootnode`, a node that runs discovery only.
//!
//! The one-shot verbs drive a throwaway [`Discovery`] over one UDP socket in a small loop of their
//! own: send what it wants sent, feed it what arrives and the time, and act on its events.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argh::FromArgs;
use async_io::Timer;
use async_net::UdpSocket;
use futures_lite::{StreamExt, future};

use super::CliError;
use super::node::parse_enodes;
use ethpeer::crypto::{SecretKey, hex, os_random};
use ethpeer::discv4::discovery::{Config, Discovery, Event};
use ethpeer::discv4::packet::PACKET_SIZE_MAX;
use ethpeer::discv4::table::Node;
use ethpeer::enode::Enode;
use ethpeer::enr::Record;
use ethpeer::log;
use ethpeer::node::NodeConfig;
use ethpeer::server::clock::unix_ms;
use ethpeer::server::{Config as NodeStartConfig, disc_node};
use ethpeer::time::UnixMs;

/// Ping a node (again every 500 ms until the timeout; a closed port is reported at once).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "ping")]
pub struct Ping {
    /// the node: enode://<id>@<ip>:<port>[?discport=<udp>]
    #[argh(positional)]
    pub enode: String,
    /// how long to wait for the answer (default 5s)
    #[argh(option, default = "String::from(\"5s\")")]
    pub timeout: String,
}

/// Ask a node for its record (EIP-868), until the timeout or a closed port.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "requestenr")]
pub struct RequestEnr {
    /// the node: enode://<id>@<ip>:<port>[?discport=<udp>]
    #[argh(positional)]
    pub enode: String,
    /// how long to wait (default 5s)
    #[argh(option, default = "String::from(\"5s\")")]
    pub timeout: String,
}

/// Find a node's current endpoint: ask it for its record, else look it up in the network.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "resolve")]
pub struct Resolve {
    /// the node: enode://<id>@<ip>:<port>[?discport=<udp>]
    #[argh(positional)]
    pub enode: String,
    /// more nodes to look it up through (comma-separated enode URLs)
    #[argh(option)]
    pub bootnodes: Option<String>,
    /// how long to try (default 10s)
    #[argh(option, default = "String::from(\"10s\")")]
    pub timeout: String,
}

/// Walk the network from bootnodes until the timeout, SIGINT or SIGTERM, then write every node
/// found, with its record.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "crawl")]
pub struct Crawl {
    /// where to start (comma-separated enode URLs)
    #[argh(option)]
    pub bootnodes: String,
    /// how long to crawl (default 30s)
    #[argh(option, default = "String::from(\"30s\")")]
    pub timeout: String,
    /// the JSON file to write, replaced whole at the end (default: stdout)
    #[argh(option)]
    pub out: Option<std::path::PathBuf>,
}

/// Run a discovery-only node and print its enode URL.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "bootnode")]
pub struct Bootnode {
    /// UDP port (default 30301)
    #[argh(option, default = "30301")]
    pub port: u16,
    /// node key file (default: a new key each start)
    #[argh(option)]
    pub nodekey: Option<std::path::PathBuf>,
    /// node key as 64 hex characters
    #[argh(option)]
    pub nodekeyhex: Option<String>,
    /// comma-separated CIDR networks; only nodes inside them are kept
    #[argh(option)]
    pub netrestrict: Option<String>,
    /// external address: "extip:IP" or "none"
    #[argh(option)]
    pub nat: Option<String>,
    /// log verbosity 0-5 (default 3)
    #[argh(option, default = "3")]
    pub verbosity: u8,
}

/// The longest wait a duration flag accepts: 30 days. A crawl may run for days; nothing here
/// waits for a month, and every deadline `now + d` stays far from `Instant`'s range.
pub const DURATION_MAX: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses the value of the duration flag `flag`: "30s", "500ms", "2m" or a bare number of
/// seconds, more than zero and at most [`DURATION_MAX`].
pub fn parse_duration(flag: &str, s: &str) -> Result<Duration, CliError> {
    let bad = || {
        CliError::Invalid(format!(
            "{flag}: bad duration {s:?} (use e.g. 30s, 500ms, 2m)"
        ))
    };
    let too_long = || {
        CliError::Invalid(format!(
            "{flag}: {s} is too long (at most {} days)",
            DURATION_MAX.as_secs() / 86400
        ))
    };
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    if num.is_empty() {
        return Err(bad());
    }
    // All digits: a parse failure past this point is a number too large for u64.
    let n: u64 = num.parse().map_err(|_| too_long())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(too_long)?),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(CliError::Invalid(format!("{flag}: must be more than 0")));
    }
    if d > DURATION_MAX {
        return Err(too_long());
    }
    Ok(d)
}

fn parse_target(url: &str) -> Result<(Enode, Node), CliError> {
    let e: Enode = url
        .parse()
        .map_err(|err| CliError::Invalid(format!("{url}: {err}")))?;
    let n = disc_node(&e)
        .ok_or_else(|| CliError::Invalid(format!("{url}: needs an IP address and a port")))?;
    Ok((e, n))
}

/// A throwaway discovery node on an ephemeral UDP port, facing `toward` (loopback or not).
/// With `peer`, the socket is connected to it: it then hears only from that address, and the
/// kernel reports an ICMP "port unreachable" from it as a refused receive (an unconnected
/// socket never learns of it).
async fn throwaway(
    toward: IpAddr,
    bootnodes: Vec<Node>,
    peer: Option<SocketAddr>,
) -> Result<(Discovery, UdpSocket), CliError> {
    let bind_ip = if toward.is_loopback() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
        .await
        .map_err(CliError::io("binding a UDP socket"))?;
    if let Some(peer) = peer {
        socket
            .connect(peer)
            .await
            .map_err(CliError::io(format!("connecting a UDP socket to {peer}")))?;
    }
    let local = socket
        .local_addr()
        .map_err(CliError::io("reading the UDP address"))?;
    let mut seed = [0u8; 8];
    os_random(&mut seed);
    let config = Config {
        ip: if bind_ip.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            bind_ip
        },
        udp: local.port(),
        tcp: 0,
        bootnodes,
        netrestrict: None,
        seed: u64::from_le_bytes(seed),
        enr_seq: unix_ms(),
        enr_entries: Vec::new(),
    };
    let key = SecretKey::generate(os_random);
    let d = Discovery::new(key, config, UnixMs(unix_ms()))
        .map_err(|e| CliError::Invalid(format!("our node record: {e}")))?;
    Ok((d, socket))
}

/// How [`drive`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// `on_event` said so.
    Done,
    /// The deadline passed.
    Deadline,
    /// The kernel reported an ICMP "port unreachable" (only a connected socket learns of it).
    Unreachable,
}

/// Whether an I/O error is the kernel passing on an ICMP "port unreachable".
fn is_unreachable(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::ConnectionRefused
}

/// Runs `d` over `socket` until `on_event` breaks, `deadline` passes, or the peer of a
/// connected socket turns out unreachable.
async fn drive(
    d: &mut Discovery,
    socket: &UdpSocket,
    deadline: Instant,
    mut on_event: impl FnMut(&mut Discovery, Event) -> ControlFlow<()>,
) -> Result<Ended, CliError> {
    let mut buf = vec![0u8; PACKET_SIZE_MAX + 1];
    loop {
        // Events can queue more datagrams (a crawl requests records as it learns of nodes).
        loop {
            let mut busy = false;
            while let Some((to, bytes)) = d.poll_transmit() {
                busy = true;
                // A failed send is a lost datagram; the request's timeout reports it. A refused
                // one carries the ICMP error of an earlier datagram to a connected peer.
                if let Err(e) = socket.send_to(&bytes, to).await
                    && is_unreachable(&e)
                {
                    return Ok(Ended::Unreachable);
                }
            }
            while let Some(ev) = d.poll_event() {
                busy = true;
                if on_event(d, ev).is_break() {
                    return Ok(Ended::Done);
                }
            }
            if !busy {
                break;
            }
            // Events that keep making events must not hold the loop past its deadline.
            if Instant::now() >= deadline {
                return Ok(Ended::Deadline);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Ended::Deadline);
        }
        let wake = d
            .poll_timeout()
            .map(|t| now + Duration::from_millis(t.since(UnixMs(unix_ms()))))
            .map_or(deadline, |t| t.min(deadline));
        let got = future::or(async { Some(socket.recv_from(&mut buf).await) }, async {
            Timer::at(wake).await;
            None
        })
        .await;
        match got {
            Some(Ok((n, from))) if n <= PACKET_SIZE_MAX => {
                if let Err(why) = d.handle_packet(UnixMs(unix_ms()), from, &buf[..n]) {
                    log::debug("Packet dropped", &[("from", &from), ("why", &why)]);
                }
            }
            Some(Err(e)) if is_unreachable(&e) => return Ok(Ended::Unreachable),
            Some(_) => {}
            None => d.handle_timeout(UnixMs(unix_ms())),
        }
    }
}

/// A duration as a flag would spell it: "500ms", "5s", "2m".
fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if !ms.is_multiple_of(60_000) || ms == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}m", ms / 60_000)
    }
}

/// `discv4 ping`: pings until a Pong, the timeout, or the kernel says the port is closed. A
/// Ping unanswered after 500 ms (discovery's own request timeout) is sent again, so a lost
/// datagram costs one retry and the whole `--timeout` is waited.
pub fn ping(args: &Ping, out: &mut dyn Write) -> Result<(), CliError> {
    let (_, target) = parse_target(&args.enode)?;
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let addr = target.udp_addr();
    async_io::block_on(async {
        let (mut d, socket) = throwaway(target.ip, Vec::new(), Some(addr)).await?;
        let start = Instant::now();
        let deadline = start + timeout;
        d.ping(UnixMs(unix_ms()), addr, Some(target.key));
        let mut pings = 1;
        let mut answer = None;
        let ended = drive(&mut d, &socket, deadline, |d, ev| match ev {
            Event::PingResult { pong: Some(p), .. } => {
                answer = Some(p);
                ControlFlow::Break(())
            }
            Event::PingResult { pong: None, .. } => {
                if Instant::now() < deadline {
                    d.ping(UnixMs(unix_ms()), addr, Some(target.key));
                    pings += 1;
                }
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        })
        .await?;
        match (answer, ended) {
            (Some((id, seq)), _) => writeln!(
                out,
                "pong from {id} in {} ms{}",
                start.elapsed().as_millis(),
                seq.map(|s| format!(", enr seq {s}")).unwrap_or_default()
            )
            .map_err(CliError::io("stdout")),
            (None, Ended::Unreachable) => Err(unreachable(addr)),
            (None, _) => Err(CliError::Invalid(format!(
                "{addr}: no pong within {} ({pings} ping{})",
                show_duration(timeout),
                if pings == 1 { "" } else { "s" }
            ))),
        }
    })
}

fn unreachable(addr: SocketAddr) -> CliError {
    CliError::Invalid(format!(
        "{addr}: port unreachable (the host says nothing listens on that UDP port)"
    ))
}

/// Why [`fetch_enr`] came back without a record.
enum NoRecord {
    Unreachable,
    Timeout,
}

/// Asks `target` for its record until one comes, `timeout` passes, or its port is closed.
async fn fetch_enr(target: &Node, timeout: Duration) -> Result<Result<Record, NoRecord>, CliError> {
    let addr = target.udp_addr();
    let (mut d, socket) = throwaway(target.ip, Vec::new(), Some(addr)).await?;
    let deadline = Instant::now() + timeout;
    d.request_enr(UnixMs(unix_ms()), target.clone());
    let mut answer = None;
    let ended = drive(&mut d, &socket, deadline, |d, ev| match ev {
        Event::EnrResult {
            record: Some(r), ..
        } => {
            answer = Some(r);
            ControlFlow::Break(())
        }
        Event::EnrResult { record: None, .. } => {
            // Unanswered (or a record that did not verify): ask again while there is time.
            if Instant::now() < deadline {
                d.request_enr(UnixMs(unix_ms()), target.clone());
            }
            ControlFlow::Continue(())
        }
        _ => ControlFlow::Continue(()),
    })
    .await?;
    Ok(match (answer, ended) {
        (Some(r), _) => Ok(r),
        (None, Ended::Unreachable) => Err(NoRecord::Unreachable),
        (None, _) => Err(NoRecord::Timeout),
    })
}

/// `discv4 requestenr`
pub fn request_enr(args: &RequestEnr, out: &mut dyn Write) -> Result<(), CliError> {
    let (_, target) = parse_target(&args.enode)?;
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let record = match async_io::block_on(fetch_enr(&target, timeout))? {
        Ok(r) => r,
        Err(NoRecord::Unreachable) => return Err(unreachable(target.udp_addr())),
        Err(NoRecord::Timeout) => {
            return Err(CliError::Invalid(format!(
                "{}: no record within {}",
                target.udp_addr(),
                show_duration(timeout)
            )));
        }
    };
    let mut text = format!("{}\nseq: {}\n", record.to_text(), record.seq());
    if let Some(e) = record.to_enode() {
        text.push_str(&format!("enode: {e}\n"));
    }
    out.write_all(text.as_bytes())
        .map_err(CliError::io("stdout"))
}

/// `discv4 resolve`, as geth's `Resolve`: ask the node for its record at the endpoint given;
/// failing that, look its id up through the bootnodes and ask it again where the network says
/// it is, printing its record's endpoint (newer than any Neighbors entry) or else that entry.
pub fn resolve(args: &Resolve, out: &mut dyn Write) -> Result<(), CliError> {
    let (enode, target) = parse_target(&args.enode)?;
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let deadline = Instant::now() + timeout;
    let boot: Vec<Node> = match &args.bootnodes {
        Some(b) => parse_enodes(b, "--bootnodes")?
            .iter()
            .filter_map(disc_node)
            // The node's own (maybe stale) address is no guide to where it went.
            .filter(|n| n.id != target.id)
            .collect(),
        None => Vec::new(),
    };
    let boot_count = boot.len();
    async_io::block_on(async {
        // First the node itself, at the address we know.
        let quick = timeout.min(Duration::from_secs(3));
        if let Ok(r) = fetch_enr(&target, quick).await?
            && let Some(e) = r.to_enode()
        {
            return writeln!(out, "{e}").map_err(CliError::io("stdout"));
        }
        // Else ask the network where it went: a lookup for its id, through the bootnodes. The
        // node at the address we know seeds the lookup only when there is nothing else (it
        // may answer FindNode without serving records); otherwise it is a query we expect to
        // fail (the lookup would then ask it where an answer says it is, but later).
        let seeds = if boot.is_empty() {
            vec![target.clone()]
        } else {
            boot
        };
        let (mut d, socket) = throwaway(target.ip, seeds, None).await?;
        d.start_lookup(UnixMs(unix_ms()), enode.id.to_bytes());
        let mut found = None;
        drive(&mut d, &socket, deadline, |_, ev| match ev {
            Event::Discovered(n) if n.id == target.id => {
                found = Some(n);
                ControlFlow::Break(())
            }
            Event::LookupDone { result, .. } => {
                found = result.into_iter().find(|n| n.id == target.id);
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
        .await?;
        let Some(n) = found else {
            return Err(CliError::Invalid(format!(
                "{}: not found (no record from {}, and a lookup through {} did not find it)",
                enode.node_id(),
                target.udp_addr(),
                match boot_count {
                    0 => "the node itself".to_string(),
                    1 => "1 bootnode".to_string(),
                    k => format!("{k} bootnodes"),
                }
            )));
        };
        // Where the network says it is: its own record there is the newest word.
        let left = deadline.saturating_duration_since(Instant::now());
        let mut e = Enode::new(n.key, n.ip, n.tcp, n.udp);
        if n.udp_addr() != target.udp_addr()
            && !left.is_zero()
            && let Ok(r) = fetch_enr(&n, left.min(quick)).await?
            && let Some(from_record) = r.to_enode()
        {
            e = from_record;
        }
        writeln!(out, "{e}").map_err(CliError::io("stdout"))
    })
}

/// Where `crawl --out` writes. A regular file (or a new one) is written to a temporary file
/// beside it and renamed over it once complete, so a kill at any moment leaves either the old
/// file or the whole new one; a device or pipe is written in place. Opened before the crawl
/// starts, so a path that cannot be written is reported at once.
pub(super) struct OutFile {
    path: PathBuf,
    /// The temporary file, for a regular file; `None` when writing in place.
    tmp: Option<PathBuf>,
    file: std::fs::File,
}

impl OutFile {
    pub(super) fn create(path: &Path) -> Result<OutFile, CliError> {
        let what = format!("--out {}", path.display());
        let (tmp, file) = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(CliError::Invalid(format!("{what}: is a directory")));
            }
            Ok(m) if !m.is_file() => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(CliError::io(&what))?;
                (None, f)
            }
            _ => {
                let name = path
                    .file_name()
                    .ok_or_else(|| CliError::Invalid(format!("{what}: names no file")))?;
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let tmp = dir.join(format!(
                    ".{}.{}.tmp",
                    name.to_string_lossy(),
                    std::process::id()
                ));
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&tmp)
                    .map_err(CliError::io(&what))?;
                (Some(tmp), f)
            }
        };
        Ok(OutFile {
            path: path.to_path_buf(),
            tmp,
            file,
        })
    }

    /// Writes `bytes` and, for a regular file, syncs and renames the temporary file into place.
    pub(super) fn commit(mut self, bytes: &[u8]) -> Result<(), CliError> {
        let what = format!("--out {}", self.path.display());
        self.file.write_all(bytes).map_err(CliError::io(&what))?;
        if let Some(tmp) = &self.tmp {
            self.file.sync_all().map_err(CliError::io(&what))?;
            std::fs::rename(tmp, &self.path).map_err(CliError::io(&what))?;
            self.tmp = None;
        }
        Ok(())
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        // Not committed: the temporary file goes, the old file stays as it was.
        if let Some(tmp) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// `discv4 crawl`: until `--timeout`, SIGINT or SIGTERM; then writes every node found.
pub fn crawl(args: &Crawl, out: &mut dyn Write) -> Result<(), CliError> {
    let boot: Vec<Node> = parse_enodes(&args.bootnodes, "--bootnodes")?
        .iter()
        .filter_map(disc_node)
        .collect();
    if boot.is_empty() {
        return Err(CliError::Invalid("--bootnodes: no usable node".into()));
    }
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let out_file = args.out.as_deref().map(OutFile::create).transpose()?;
    // From here on an interrupt ends the crawl, not the process: what was found is written.
    let mut signals =
        async_signal::Signals::new([async_signal::Signal::Int, async_signal::Signal::Term])
            .map_err(CliError::io("installing signal handlers"))?;
    /// Lookups the crawler keeps running at once.
    const CRAWL_LOOKUPS: usize = 4;
    let mut nodes: BTreeMap<ethpeer::crypto::NodeId, (Node, Option<Record>)> = BTreeMap::new();
    let stopped_by = async_io::block_on(async {
        let (mut d, socket) = throwaway(boot[0].ip, boot.clone(), None).await?;
        for n in &boot {
            nodes.insert(n.id, (n.clone(), None));
            d.request_enr(UnixMs(unix_ms()), n.clone());
        }
        let start = Instant::now();
        let deadline = start + timeout;
        let mut last_report = start;
        for _ in 0..CRAWL_LOOKUPS {
            d.start_random_lookup(UnixMs(unix_ms()));
        }
        let crawling = drive(&mut d, &socket, deadline, |d, ev| {
            match ev {
                Event::Discovered(n) => {
                    if let std::collections::btree_map::Entry::Vacant(v) = nodes.entry(n.id) {
                        v.insert((n.clone(), None));
                        d.request_enr(UnixMs(unix_ms()), n);
                    }
                }
                Event::Enr(n, r) => {
                    nodes.insert(n.id, (n, Some(r)));
                }
                // With an empty table (every node we knew failed) a lookup ends at once; a new
                // one would too, forever. Nothing is left to ask then: wait out the timeout.
                Event::LookupDone { .. } if !d.table().is_empty() => {
                    d.start_random_lookup(UnixMs(unix_ms()));
                }
                _ => {}
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                let with = nodes.values().filter(|(_, r)| r.is_some()).count();
                eprintln!(
                    "crawl: {} nodes, {with} with records, {}s elapsed",
                    nodes.len(),
                    start.elapsed().as_secs()
                );
            }
            ControlFlow::Continue(())
        });
        let interrupted = async {
            match signals.next().await {
                Some(Ok(sig)) => Ok(Some(sig)),
                // No signal can come: crawl until the timeout.
                _ => future::pending().await,
            }
        };
        future::or(async { crawling.await.map(|_| None) }, interrupted).await
    })?;
    if let Some(sig) = stopped_by {
        let name = match sig {
            async_signal::Signal::Int => "SIGINT",
            async_signal::Signal::Term => "SIGTERM",
            _ => "a signal",
        };
        eprintln!("crawl: stopped by {name}, writing what was found");
    }
    let found = nodes.iter().map(|(id, (n, rec))| {
        let enode = Enode::new(n.key, n.ip, n.tcp, n.udp).to_string();
        (*id, Some(enode), rec.as_ref())
    });
    write_crawl(found, out_file, out)
}

/// Writes a crawl's result (both discovery versions): a JSON object keyed by node id, each with
/// its enode URL and, when known, its record and sequence number; to `out_file` atomically or to
/// `out`.
pub(super) fn write_crawl<'a>(
    found: impl Iterator<Item = (ethpeer::crypto::NodeId, Option<String>, Option<&'a Record>)>,
    out_file: Option<OutFile>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut all = serde_json::Map::new();
    for (id, enode, rec) in found {
        let mut entry = serde_json::Map::new();
        if let Some(e) = enode {
            entry.insert("enode".into(), e.into());
        }
        if let Some(r) = rec {
            entry.insert("seq".into(), r.seq().into());
            entry.insert("record".into(), r.to_text().into());
        }
        all.insert(hex(id.as_bytes()), entry.into());
    }
    let count = all.len();
    let mut json =
        serde_json::to_string_pretty(&all).map_err(|e| CliError::Invalid(e.to_string()))?;
    json.push('\n');
    match out_file {
        Some(f) => f.commit(json.as_bytes())?,
        None => out
            .write_all(json.as_bytes())
            .map_err(CliError::io("stdout"))?,
    }
    eprintln!("crawl: done, {count} nodes");
    Ok(())
}

/// `bootnode`: discovery only, until SIGINT or SIGTERM.
pub fn bootnode(args: &Bootnode, out: &mut dyn Write) -> Result<(), CliError> {
    if args.verbosity > 5 {
        return Err(CliError::Invalid("--verbosity: must be 0 to 5".into()));
    }
    log::init(args.verbosity, log::Format::Terminal);
    let key = match (&args.nodekey, &args.nodekeyhex) {
        (Some(_), Some(_)) => {
            return Err(CliError::Invalid(
                "--nodekey and --nodekeyhex are mutually exclusive".into(),
            ));
        }
        (Some(f), None) => super::key::read_key(f)?,
        (None, Some(h)) => ethpeer::server::datadir::parse_key_hex(h)
            .map_err(|e| CliError::Invalid(format!("--nodekeyhex: {e}")))?,
        (None, None) => SecretKey::generate(os_random),
    };
    let netrestrict = match &args.netrestrict {
        Some(s) => Some(
            s.parse()
                .map_err(|e| CliError::Invalid(format!("--netrestrict: {e}")))?,
        ),
        None => None,
    };
    let ext_ip = super::node::nat_ip(args.nat.as_deref())?;
    let config = NodeStartConfig {
        datadir: None,
        key,
        node: NodeConfig {
            max_peers: 0,
            netrestrict,
            ..NodeConfig::default()
        },
        bootnodes: Vec::new(),
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), args.port),
        max_pending: 0,
        ext_ip,
        client_id: super::node::client_id(None),
        discovery: true,
        discovery_v4: true,
        discovery_v5: true,
        bootnodes_v5: Vec::new(),
        rlpx: false,
        network_id: 0,
        http: None,
        ws: None,
        metrics: None,
        eth: None,
    };
    let _ = out.flush();
    super::node::run_until_signal_printing(config, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_within_bounds() {
        let d = |s| parse_duration("--timeout", s).map_err(|e| e.to_string());
        assert_eq!(d("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(d("7").unwrap(), Duration::from_secs(7));
        assert_eq!(d("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(d("43200m").unwrap(), DURATION_MAX);
        for bad in ["", "s", "1h", "-1s", "1.5s", " 1s"] {
            assert!(d(bad).unwrap_err().contains("bad duration"), "{bad:?}");
        }
        for long in [
            "43201m",
            "2592000001ms",
            "18446744073709551615m",
            "99999999999999999999s",
        ] {
            assert!(d(long).unwrap_err().contains("too long"), "{long:?}");
        }
        assert!(d("0ms").unwrap_err().contains("more than 0"));
    }
}
