//! `ethpeer discv5 …`: discovery v5 tools in the style of go-ethereum's `devp2p discv5` — ping
//! a node by its record, and listen (print our record, answer everyone, log what happens).
//!
//! Each verb drives a [`Discovery`] over one UDP socket in a small loop of its own: send what it
//! wants sent, feed it what arrives, the time and the OS's entropy, and act on its events.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use argh::FromArgs;
use async_io::Timer;
use async_net::UdpSocket;
use futures_lite::{StreamExt, future};

use super::CliError;
use super::discv4::{OutFile, parse_duration};
use super::node::parse_record;
use ethpeer::crypto::{NodeId, SecretKey, os_random};
use ethpeer::discv5::discovery::{Config, Discovery, Entropy, Event, record_node};
use ethpeer::discv5::packet::PACKET_SIZE_MAX;
use ethpeer::enr::Record;
use ethpeer::log;
use ethpeer::server::clock::unix_ms;
use ethpeer::time::UnixMs;

/// Ping a node by its record (retried until the timeout).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "ping")]
pub struct Ping {
    /// the node's record: enr:...
    #[argh(positional)]
    pub enr: String,
    /// how long to wait for the answer (default 5s)
    #[argh(option, default = "String::from(\"5s\")")]
    pub timeout: String,
}

/// Run a discovery v5 node: print its record, answer requests, log sessions.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "listen")]
pub struct Listen {
    /// UDP port (default 0: a free port)
    #[argh(option, default = "0")]
    pub port: u16,
    /// address to bind (default 127.0.0.1)
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    pub addr: String,
    /// node key as 64 hex characters (default: a new key)
    #[argh(option)]
    pub nodekeyhex: Option<String>,
    /// comma-separated records (enr:...) to ping at the start, which enter the table
    #[argh(option)]
    pub bootnodes: Option<String>,
    /// stop after this long (default: run until SIGINT/SIGTERM)
    #[argh(option)]
    pub timeout: Option<String>,
    /// log verbosity 0-5 (default 3)
    #[argh(option, default = "3")]
    pub verbosity: u8,
}

fn parse_records(list: &str, what: &str) -> Result<Vec<Record>, CliError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_record(s, what))
        .collect()
}

fn os_entropy() -> Entropy {
    Box::new(os_random)
}

/// A discovery v5 node on `bind`, with a fresh or given key.
async fn node_on(
    bind: SocketAddr,
    key: SecretKey,
    bootnodes: Vec<Record>,
) -> Result<(Discovery, UdpSocket), CliError> {
    let socket = UdpSocket::bind(bind)
        .await
        .map_err(CliError::io(format!("binding UDP {bind}")))?;
    let local = socket
        .local_addr()
        .map_err(CliError::io("reading the UDP address"))?;
    let mut seed = [0u8; 8];
    os_random(&mut seed);
    let ip = if local.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        local.ip()
    };
    let config = Config {
        ip,
        udp: local.port(),
        tcp: 0,
        enr_seq: unix_ms(),
        enr_entries: Vec::new(),
        bootnodes,
        seed: u64::from_le_bytes(seed),
        fixed_endpoint: false,
    };
    let d = Discovery::new(key, config, os_entropy(), UnixMs(unix_ms()))
        .map_err(|e| CliError::Invalid(format!("our node record: {e}")))?;
    Ok((d, socket))
}

/// Runs `d` over `socket` until `on_event` breaks or `deadline` passes.
async fn drive(
    d: &mut Discovery,
    socket: &UdpSocket,
    deadline: Option<Instant>,
    mut on_event: impl FnMut(&mut Discovery, Event) -> ControlFlow<()>,
) -> Result<(), CliError> {
    let mut buf = vec![0u8; PACKET_SIZE_MAX + 1];
    loop {
        loop {
            let mut busy = false;
            while let Some((to, bytes)) = d.poll_transmit() {
                busy = true;
                // A failed send is a lost datagram; the request's timeout reports it.
                let _ = socket.send_to(&bytes, to).await;
            }
            while let Some(ev) = d.poll_event() {
                busy = true;
                if on_event(d, ev).is_break() {
                    return Ok(());
                }
            }
            if !busy {
                break;
            }
        }
        let now = Instant::now();
        if deadline.is_some_and(|t| now >= t) {
            return Ok(());
        }
        let far = now + Duration::from_secs(3600);
        let wake = d
            .poll_timeout()
            .map(|t| now + Duration::from_millis(t.since(UnixMs(unix_ms()))))
            .map_or(far, |t| t.min(far));
        let wake = deadline.map_or(wake, |dl| wake.min(dl));
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
            Some(_) => {}
            None => d.handle_timeout(UnixMs(unix_ms())),
        }
    }
}

/// `discv5 ping`: pings until a PONG or the timeout; a failed attempt is retried.
pub fn ping(args: &Ping, out: &mut dyn Write) -> Result<(), CliError> {
    let target = parse_record(&args.enr, "ENR")?;
    let node = record_node(&target)
        .ok_or_else(|| CliError::Invalid("ENR: the record has no UDP endpoint".into()))?;
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let bind_ip = if node.ip.is_loopback() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    async_io::block_on(async {
        let key = SecretKey::generate(os_random);
        let (mut d, socket) = node_on(SocketAddr::new(bind_ip, 0), key, Vec::new()).await?;
        let start = Instant::now();
        let deadline = start + timeout;
        d.ping(UnixMs(unix_ms()), &target)
            .map_err(|e| CliError::Invalid(format!("ENR: {e}")))?;
        let mut pings = 1;
        let mut answer = None;
        drive(&mut d, &socket, Some(deadline), |d, ev| match ev {
            Event::Pong {
                from,
                enr_seq,
                ip,
                port,
                ..
            } => {
                answer = Some((from, enr_seq, SocketAddr::new(ip, port)));
                ControlFlow::Break(())
            }
            Event::RequestFailed { .. } => {
                if Instant::now() < deadline && d.ping(UnixMs(unix_ms()), &target).is_ok() {
                    pings += 1;
                }
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        })
        .await?;
        match answer {
            Some((id, seq, seen)) => writeln!(
                out,
                "pong from {id} in {} ms, enr seq {seq}, saw us at {seen}",
                start.elapsed().as_millis()
            )
            .map_err(CliError::io("stdout")),
            None => Err(CliError::Invalid(format!(
                "{}: no pong within {} ({pings} attempt{})",
                node.udp_addr(),
                args.timeout,
                if pings == 1 { "" } else { "s" }
            ))),
        }
    })
}

/// `discv5 listen`: prints our record, then answers until the timeout or a signal, logging
/// sessions and answers.
pub fn listen(args: &Listen, out: &mut dyn Write) -> Result<(), CliError> {
    if args.verbosity > 5 {
        return Err(CliError::Invalid("--verbosity: must be 0 to 5".into()));
    }
    log::init(args.verbosity, log::Format::Terminal);
    let ip: IpAddr = args
        .addr
        .parse()
        .map_err(|_| CliError::Invalid(format!("--addr: not an IP address: {}", args.addr)))?;
    let key = match &args.nodekeyhex {
        Some(h) => ethpeer::server::datadir::parse_key_hex(h)
            .map_err(|e| CliError::Invalid(format!("--nodekeyhex: {e}")))?,
        None => SecretKey::generate(os_random),
    };
    let bootnodes = match &args.bootnodes {
        Some(s) => parse_records(s, "--bootnodes")?,
        None => Vec::new(),
    };
    let deadline = match &args.timeout {
        Some(t) => Some(Instant::now() + parse_duration("--timeout", t)?),
        None => None,
    };
    let signal = super::node::signal_shutdown()?;
    async_io::block_on(async {
        let (mut d, socket) =
            node_on(SocketAddr::new(ip, args.port), key, bootnodes.clone()).await?;
        writeln!(out, "{}", d.record().to_text()).map_err(CliError::io("stdout"))?;
        out.flush().map_err(CliError::io("stdout"))?;
        for b in &bootnodes {
            if let Err(e) = d.ping(UnixMs(unix_ms()), b) {
                log::warn("Bootnode not pinged", &[("err", &e)]);
            }
        }
        let run = drive(&mut d, &socket, deadline, |_, ev| {
            match ev {
                Event::Session { node, addr, .. } => {
                    log::info("Session established", &[("id", &node), ("addr", &addr)]);
                }
                Event::Pong { from, enr_seq, .. } => {
                    log::info("Pong", &[("id", &from), ("seq", &enr_seq)]);
                }
                Event::Nodes { from, records, .. } => {
                    log::info("Nodes", &[("id", &from), ("count", &records.len())]);
                }
                Event::RequestFailed { to, reason, .. } => {
                    log::info("Request failed", &[("id", &to), ("err", &reason)]);
                }
                Event::RecordUpdated(r) => log::info("Record updated", &[("enr", &r.to_text())]),
                Event::LookupDone { records, .. } => {
                    log::info("Lookup done", &[("found", &records.len())]);
                }
                Event::TalkResp { .. } | Event::Discovered(_) | Event::Seen { .. } => {}
            }
            ControlFlow::Continue(())
        });
        future::or(run, async {
            signal.await;
            Ok(())
        })
        .await
    })
}

/// Walk the v5 network from records until the timeout, SIGINT or SIGTERM, then write every
/// node found, with its record (the same JSON as `discv4 crawl`).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "crawl")]
pub struct Crawl {
    /// where to start (comma-separated enr: records)
    #[argh(option)]
    pub bootnodes: String,
    /// how long to crawl (default 30s)
    #[argh(option, default = "String::from(\"30s\")")]
    pub timeout: String,
    /// the JSON file to write, replaced whole at the end (default: stdout)
    #[argh(option)]
    pub out: Option<std::path::PathBuf>,
}

/// `discv5 crawl`: random lookups from the bootnodes until `--timeout`, SIGINT or SIGTERM;
/// then writes every record found.
pub fn crawl(args: &Crawl, out: &mut dyn Write) -> Result<(), CliError> {
    let boot = parse_records(&args.bootnodes, "--bootnodes")?;
    let first = boot
        .iter()
        .find_map(record_node)
        .ok_or_else(|| CliError::Invalid("--bootnodes: no record with a UDP endpoint".into()))?;
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let out_file = args.out.as_deref().map(OutFile::create).transpose()?;
    let mut signals =
        async_signal::Signals::new([async_signal::Signal::Int, async_signal::Signal::Term])
            .map_err(CliError::io("installing signal handlers"))?;
    /// Lookups the crawler keeps running at once.
    const CRAWL_LOOKUPS: usize = 4;
    let mut found: BTreeMap<NodeId, Record> = BTreeMap::new();
    let bind_ip = if first.ip.is_loopback() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let stopped = async_io::block_on(async {
        let key = SecretKey::generate(os_random);
        let (mut d, socket) = node_on(SocketAddr::new(bind_ip, 0), key, boot.clone()).await?;
        for r in &boot {
            if let Some(id) = r.node_id() {
                found.insert(id, r.clone());
            }
        }
        let start = Instant::now();
        let mut last_report = start;
        let self_id = d.self_id();
        d.start_lookup(UnixMs(unix_ms()), self_id);
        for _ in 1..CRAWL_LOOKUPS {
            d.start_random_lookup(UnixMs(unix_ms()));
        }
        let crawling = drive(&mut d, &socket, Some(start + timeout), |d, ev| {
            match ev {
                Event::Discovered(r) => {
                    if let Some(id) = r.node_id() {
                        let newer = found.get(&id).is_none_or(|old| old.seq() < r.seq());
                        if newer {
                            found.insert(id, r);
                        }
                    }
                }
                Event::LookupDone { .. } if !d.table().is_empty() => {
                    d.start_random_lookup(UnixMs(unix_ms()));
                }
                _ => {}
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                eprintln!(
                    "crawl: {} nodes, {}s elapsed",
                    found.len(),
                    start.elapsed().as_secs()
                );
            }
            ControlFlow::Continue(())
        });
        let interrupted = async {
            match signals.next().await {
                Some(Ok(_)) => Ok(true),
                _ => future::pending().await,
            }
        };
        future::or(async { crawling.await.map(|_| false) }, interrupted).await
    })?;
    if stopped {
        eprintln!("crawl: stopped by a signal, writing what was found");
    }
    let found = found
        .iter()
        .map(|(id, r)| (*id, r.to_enode().map(|e| e.to_string()), Some(r)));
    super::discv4::write_crawl(found, out_file, out)
}

/// Find a node's newest record: ask the node itself, else look its id up through bootnodes.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "resolve")]
pub struct Resolve {
    /// the node's record: enr:...
    #[argh(positional)]
    pub enr: String,
    /// more nodes to look it up through (comma-separated enr: records)
    #[argh(option)]
    pub bootnodes: Option<String>,
    /// how long to try (default 10s)
    #[argh(option, default = "String::from(\"10s\")")]
    pub timeout: String,
}

/// `discv5 resolve`, as geth's: PING the node at the endpoint its record names (a newer sequence
/// number in its PONG makes us fetch its record with FINDNODE [0]); failing that, look its id up
/// through the bootnodes and keep the newest record an answer carries. Prints the record and its
/// sequence number.
pub fn resolve(args: &Resolve, out: &mut dyn Write) -> Result<(), CliError> {
    let given = parse_record(&args.enr, "ENR")?;
    let target = given
        .node_id()
        .ok_or_else(|| CliError::Invalid("ENR: the record has no secp256k1 key".into()))?;
    let boot = match &args.bootnodes {
        Some(s) => parse_records(s, "--bootnodes")?,
        None => Vec::new(),
    };
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let near = record_node(&given)
        .or_else(|| boot.iter().find_map(record_node))
        .ok_or_else(|| CliError::Invalid("ENR: the record has no UDP endpoint".into()))?;
    let bind_ip = if near.ip.is_loopback() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let mut best = given.clone();
    let mut answered = false;
    async_io::block_on(async {
        let key = SecretKey::generate(os_random);
        let (mut d, socket) = node_on(SocketAddr::new(bind_ip, 0), key, boot).await?;
        let deadline = Instant::now() + timeout;
        let mut pinged = d.ping(UnixMs(unix_ms()), &given).is_ok();
        if !pinged {
            d.start_lookup(UnixMs(unix_ms()), target);
        }
        drive(&mut d, &socket, Some(deadline), |d, ev| {
            let mut take = |r: Record| {
                if r.node_id() == Some(target) && r.seq() > best.seq() {
                    best = r;
                }
            };
            match ev {
                Event::Pong { from, enr_seq, .. } if from == target => {
                    answered = true;
                    // A newer record is on its way (FINDNODE [0]); otherwise we are done.
                    if enr_seq <= best.seq() {
                        return ControlFlow::Break(());
                    }
                }
                Event::RecordUpdated(r) => {
                    take(r);
                    return ControlFlow::Break(());
                }
                Event::Discovered(r) => take(r),
                Event::LookupDone { records, .. } => {
                    records.into_iter().for_each(&mut take);
                    return ControlFlow::Break(());
                }
                Event::RequestFailed { to, .. } if to == target && pinged && !answered => {
                    // The node did not answer where its record says: ask the network.
                    pinged = false;
                    d.start_lookup(UnixMs(unix_ms()), target);
                }
                _ => {}
            }
            ControlFlow::Continue(())
        })
        .await
    })?;
    if !answered && best.seq() == given.seq() {
        return Err(CliError::Invalid(format!(
            "{}: no answer and no newer record within {}",
            near.udp_addr(),
            args.timeout
        )));
    }
    writeln!(out, "{}\nseq: {}", best.to_text(), best.seq()).map_err(CliError::io("stdout"))
}
