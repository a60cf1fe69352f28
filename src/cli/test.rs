//! `ethpeer test eth|discv4|discv5`: the conformance suites (`ethpeer::suite`) against any node,
//! with go-ethereum's test names (`devp2p rlpx eth-test`, `devp2p discv4 test`, `devp2p discv5
//! test`), a `--run` filter, a plain, TAP or JSON-lines report ending in `N passed, N failed, N
//! skipped`, and exit status 1 when any test failed; eth's `--engineapi` names the head before the
//! transaction tests.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use argh::FromArgs;

use super::CliError;
use ethpeer::enode::Enode;
use ethpeer::suite::discv4::env::Remote;
use ethpeer::suite::eth::{EthSuite, chain::TestChain, engine::EngineClient};
use ethpeer::suite::runner::{self, Format, Test};

/// Run the eth protocol conformance suite against a node (go-ethereum's `devp2p rlpx eth-test`).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "eth")]
pub struct TestEth {
    /// the node under test: enode://<id>@<ip>:<port>
    #[argh(option)]
    pub node: String,
    /// the chain dir the node serves (geth's ethtest layout: genesis.json, chain.rlp,
    /// headblock.json, accounts.json, and optionally headstate.json, txinfo.json)
    #[argh(option)]
    pub chain: PathBuf,
    /// the node's Engine API (http://host:port): before each transaction test the chain dir's
    /// head is named head with engine_forkchoiceUpdated, so a post-merge client takes transactions
    #[argh(option)]
    pub engineapi: Option<String>,
    /// the Engine API's JWT secret file (32 bytes in hex)
    #[argh(option)]
    pub jwtsecret: Option<PathBuf>,
    /// run only the tests whose name matches this regular expression (e.g. 'Status|eth69')
    #[argh(option)]
    pub run: Option<String>,
    /// report in TAP version 13
    #[argh(switch)]
    pub tap: bool,
    /// report as JSON lines, one per test, then one with the summary
    #[argh(switch)]
    pub json: bool,
}

/// Run the discovery v4 conformance suite against a node (go-ethereum's `devp2p discv4 test`).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "discv4")]
pub struct TestDiscv4 {
    /// the node under test: enode://<id>@<ip>:<port>[?discport=N]
    #[argh(option)]
    pub remote: String,
    /// the first address the tester listens on (default 127.0.0.1)
    #[argh(option, default = "IpAddr::V4(Ipv4Addr::LOCALHOST)")]
    pub listen1: IpAddr,
    /// the second address, for the wrong-IP test (default 127.0.0.2)
    #[argh(option, default = "IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))")]
    pub listen2: IpAddr,
    /// run only the tests whose name matches this regular expression
    #[argh(option)]
    pub run: Option<String>,
    /// report in TAP version 13
    #[argh(switch)]
    pub tap: bool,
    /// report as JSON lines, one per test, then one with the summary
    #[argh(switch)]
    pub json: bool,
}

/// Run the discovery v5 conformance suite against a node (go-ethereum's `devp2p discv5 test`).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "discv5")]
pub struct TestDiscv5 {
    /// the node under test: its record, enr:...
    #[argh(positional)]
    pub enr: String,
    /// the first address the tester listens on (default 127.0.0.1)
    #[argh(option, default = "IpAddr::V4(Ipv4Addr::LOCALHOST)")]
    pub listen1: IpAddr,
    /// the second address, for the session-per-address test (default 127.0.0.2)
    #[argh(option, default = "IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))")]
    pub listen2: IpAddr,
    /// run only the tests whose name matches this regular expression
    #[argh(option)]
    pub run: Option<String>,
    /// report in TAP version 13
    #[argh(switch)]
    pub tap: bool,
    /// report as JSON lines, one per test, then one with the summary
    #[argh(switch)]
    pub json: bool,
}

fn format(tap: bool, json: bool) -> Result<Format, CliError> {
    match (tap, json) {
        (true, true) => Err(CliError::Usage(
            "--tap and --json exclude each other".into(),
        )),
        (true, false) => Ok(Format::Tap),
        (false, true) => Ok(Format::Json),
        (false, false) => Ok(Format::Plain),
    }
}

fn filter(run: Option<&str>) -> Result<Option<regex_lite::Regex>, CliError> {
    run.map(|r| {
        regex_lite::Regex::new(r)
            .map_err(|e| CliError::Invalid(format!("--run {r:?}: {}", one_line(&e.to_string()))))
    })
    .transpose()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn enode(text: &str) -> Result<Enode, CliError> {
    let e: Enode = text
        .parse()
        .map_err(|e| CliError::Invalid(format!("{text}: {e}")))?;
    super::node::resolve(e).map_err(|e| CliError::Invalid(format!("{text}: {e}")))
}

/// Runs `tests` (filtered) and turns failures into exit status 1.
fn run(
    tests: Vec<Test>,
    run: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let tests = runner::select(tests, filter(run)?.as_ref());
    if tests.is_empty() {
        return Err(CliError::Invalid(format!(
            "no test matches --run {:?}",
            run.unwrap_or_default()
        )));
    }
    let sum = runner::run_all(&tests, format, out).map_err(CliError::io("stdout"))?;
    if sum.failed > 0 {
        return Err(CliError::Invalid(format!(
            "{} of {} tests failed",
            sum.failed,
            tests.len()
        )));
    }
    Ok(())
}

/// `ethpeer test eth`.
pub fn eth(args: &TestEth, out: &mut dyn Write) -> Result<(), CliError> {
    let format = format(args.tap, args.json)?;
    filter(args.run.as_deref())?;
    let node = enode(&args.node)?;
    let addr: SocketAddr = node.tcp_addr().ok_or_else(|| {
        CliError::Invalid(format!("{}: needs an IP address and a TCP port", args.node))
    })?;
    let chain = TestChain::load(&args.chain).map_err(CliError::Invalid)?;
    let engine = match (&args.engineapi, &args.jwtsecret) {
        (Some(url), Some(secret)) => {
            Some(EngineClient::new(url, secret, &chain, &args.chain).map_err(CliError::Invalid)?)
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(CliError::Usage(
                "--engineapi needs --jwtsecret (the Engine API is authenticated)".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(CliError::Usage("--jwtsecret needs --engineapi".into()));
        }
    };
    let versions = ethpeer::suite::eth::shared_versions(addr, node.id)
        .map_err(|e| CliError::Invalid(format!("{addr}: {e}")))?;
    if versions.is_empty() {
        return Err(CliError::Invalid(format!(
            "{addr}: the node offers none of eth/68, eth/69, eth/70"
        )));
    }
    let suite = Arc::new(EthSuite {
        addr,
        remote: node.id,
        chain,
        engine,
    });
    run(
        ethpeer::suite::eth::tests(suite, &versions),
        args.run.as_deref(),
        format,
        out,
    )
}

/// `ethpeer test discv4`.
pub fn discv4(args: &TestDiscv4, out: &mut dyn Write) -> Result<(), CliError> {
    let format = format(args.tap, args.json)?;
    filter(args.run.as_deref())?;
    let node = enode(&args.remote)?;
    let addr = node.udp_addr().ok_or_else(|| {
        CliError::Invalid(format!(
            "{}: needs an IP address and a UDP port",
            args.remote
        ))
    })?;
    let remote = Remote { id: node.id, addr };
    run(
        ethpeer::suite::discv4::tests(remote, args.listen1, args.listen2),
        args.run.as_deref(),
        format,
        out,
    )
}

/// `ethpeer test discv5`.
pub fn discv5(args: &TestDiscv5, out: &mut dyn Write) -> Result<(), CliError> {
    let format = format(args.tap, args.json)?;
    filter(args.run.as_deref())?;
    let record = super::node::parse_record(&args.enr, "the node's record")?;
    let remote = ethpeer::suite::discv5::conn::Remote::from_record(record)
        .map_err(|e| CliError::Invalid(format!("{}: {e}", args.enr)))?;
    run(
        ethpeer::suite::discv5::tests(remote, args.listen1, args.listen2),
        args.run.as_deref(),
        format,
        out,
    )
}
