//! The command-line shell (in the style of go-ethereum's `devp2p` tool): argh argument
//! structures, dispatch to one function per verb, and the error type every verb returns.
//!
//! ```text
//! ethpeer node [flags]                        (see `ethpeer node --help`)
//! ethpeer bootnode [--port N] [--nodekey FILE]
//! ethpeer discv4 ping|requestenr|resolve ENODE
//! ethpeer discv4 crawl --bootnodes URLS [--timeout 30s] [--out FILE]
//! ethpeer discv5 ping ENR [--timeout 5s]
//! ethpeer discv5 listen [--port N] [--addr IP] [--bootnodes ENRS] [--timeout D]
//! ethpeer discv5 crawl --bootnodes ENRS [--timeout 30s] [--out FILE]
//! ethpeer discv5 resolve ENR [--bootnodes ENRS] [--timeout 10s]
//! ethpeer rlpx ping ENODE [--json]
//! ethpeer key generate [--out FILE] [--force]
//! ethpeer key to-id FILE
//! ethpeer key to-enode FILE --ip IP --tcp PORT [--udp PORT]
//! ethpeer key to-enr FILE [--ip IP] [--tcp PORT] [--udp PORT] [--seq N]
//! ethpeer enr decode [ENR|FILE] [--json]      (no argument, or `-- -`: read stdin)
//! ethpeer import FILE.rlp [--receipts FILE] [--datadir DIR] [--genesis FILE]
//! ethpeer export FILE.rlp [FIRST LAST] [--datadir DIR]
//! ethpeer test eth --node ENODE --chain DIR [--run REGEX] [--tap | --json]
//! ethpeer test discv4 --remote ENODE [--listen1 IP --listen2 IP] [--run REGEX] [--tap | --json]
//! ethpeer test discv5 ENR [--listen1 IP --listen2 IP] [--run REGEX] [--tap | --json]
//! ```
//!
//! Verbs write their normal output to the writer they are given and return a [`CliError`];
//! `main` prints the error once. Nothing here panics on bad input.

mod discv4;
mod discv5;
mod enr;
mod import;
mod key;
pub mod node;
mod rlpx;
mod test;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use argh::FromArgs;

/// Largest genesis.json read: 64 MiB. Mainnet's, with its whole allocation, is under 1 MiB;
/// test networks with big prefunded allocations stay far below this.
pub const GENESIS_FILE_SIZE_MAX: usize = 64 * 1024 * 1024;

/// `~/.ethpeer`, or `./.ethpeer` without a home directory.
pub fn default_datadir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".ethpeer"),
        None => PathBuf::from(".ethpeer"),
    }
}

/// Why a command failed; displayed after `ethpeer: ` as one line.
#[derive(Debug)]
pub enum CliError {
    /// The command line itself is wrong (argh's message, flattened to one line).
    Usage(String),
    /// Reading or writing `what` failed.
    Io { what: String, err: io::Error },
    /// The input was read but is not acceptable (bad key, malformed record, bad signature).
    Invalid(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) => write!(f, "{m} (see 'ethpeer --help')"),
            CliError::Io { what, err } => write!(f, "{what}: {err}"),
            CliError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {}

impl CliError {
    fn io(what: impl fmt::Display) -> impl FnOnce(io::Error) -> CliError {
        let what = what.to_string();
        move |err| CliError::Io { what, err }
    }
}

/// ethpeer: a lightweight Ethereum devp2p node.
#[derive(FromArgs, Debug)]
struct Cli {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Command {
    Node(Box<node::NodeArgs>),
    Bootnode(discv4::Bootnode),
    Discv4(Discv4Command),
    Discv5(Discv5Command),
    Rlpx(RlpxCommand),
    Key(KeyCommand),
    Enr(EnrCommand),
    Import(import::ImportArgs),
    Export(import::ExportArgs),
    Test(TestCommand),
    Version(VersionArgs),
}

/// Print the version, the git commit it was built from, the target and the compiler.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "version")]
struct VersionArgs {}

/// What `ethpeer version` and `ethpeer --version` print.
fn version_text() -> String {
    format!(
        "ethpeer {}\ncommit: {}\ntarget: {}\ncompiler: {}",
        env!("CARGO_PKG_VERSION"),
        env!("ETHPEER_COMMIT"),
        env!("ETHPEER_TARGET"),
        env!("ETHPEER_RUSTC"),
    )
}

/// Discovery v4 tools.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "discv4")]
struct Discv4Command {
    #[argh(subcommand)]
    verb: Discv4Verb,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Discv4Verb {
    Ping(discv4::Ping),
    RequestEnr(discv4::RequestEnr),
    Resolve(discv4::Resolve),
    Crawl(discv4::Crawl),
}

/// Discovery v5 tools.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "discv5")]
struct Discv5Command {
    #[argh(subcommand)]
    verb: Discv5Verb,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Discv5Verb {
    Ping(discv5::Ping),
    Listen(discv5::Listen),
    Crawl(discv5::Crawl),
    Resolve(discv5::Resolve),
}

/// RLPx transport tools.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "rlpx")]
struct RlpxCommand {
    #[argh(subcommand)]
    verb: RlpxVerb,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum RlpxVerb {
    Ping(rlpx::RlpxPing),
}

/// Conformance suites against any node (go-ethereum's devp2p eth-test, discv4 and discv5 test).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "test")]
struct TestCommand {
    #[argh(subcommand)]
    verb: TestVerb,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum TestVerb {
    Eth(test::TestEth),
    Discv4(test::TestDiscv4),
    Discv5(test::TestDiscv5),
}

/// Node key tools.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "key")]
struct KeyCommand {
    #[argh(subcommand)]
    verb: KeyVerb,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum KeyVerb {
    Generate(KeyGenerate),
    ToId(KeyToId),
    ToEnode(KeyToEnode),
    ToEnr(KeyToEnr),
}

/// Generate a new node key (64 hex characters, file mode 0600) and print its node id.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "generate")]
pub struct KeyGenerate {
    /// where to write the key (default: ./nodekey)
    #[argh(option, default = "PathBuf::from(\"nodekey\")")]
    pub out: PathBuf,
    /// replace the file if it already exists
    #[argh(switch)]
    pub force: bool,
}

/// Print the node id (keccak-256 of the public key) of a node key file.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "to-id")]
pub struct KeyToId {
    /// the node key file
    #[argh(positional)]
    pub file: PathBuf,
}

/// Print the enode URL of a node key file at an address.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "to-enode")]
pub struct KeyToEnode {
    /// the node key file
    #[argh(positional)]
    pub file: PathBuf,
    /// IP address of the node
    #[argh(option)]
    pub ip: IpAddr,
    /// RLPx (TCP) port
    #[argh(option)]
    pub tcp: u16,
    /// discovery (UDP) port (default: the TCP port)
    #[argh(option)]
    pub udp: Option<u16>,
}

/// Print a node record (enr:...) signed with a node key file.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "to-enr")]
pub struct KeyToEnr {
    /// the node key file
    #[argh(positional)]
    pub file: PathBuf,
    /// IP address (IPv4 sets `ip`, IPv6 sets `ip6`)
    #[argh(option)]
    pub ip: Option<IpAddr>,
    /// RLPx (TCP) port
    #[argh(option)]
    pub tcp: Option<u16>,
    /// discovery (UDP) port
    #[argh(option)]
    pub udp: Option<u16>,
    /// sequence number (default: 1)
    #[argh(option, default = "1")]
    pub seq: u64,
}

/// Node record (EIP-778) tools.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "enr")]
struct EnrCommand {
    #[argh(subcommand)]
    verb: EnrVerb,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum EnrVerb {
    Decode(EnrDecode),
}

/// Decode a node record and check its signature; exits 1 when the signature is invalid.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "decode")]
pub struct EnrDecode {
    /// the record as enr:... text, or a file holding it; stdin when absent (or `-- -`)
    #[argh(positional)]
    pub input: Option<String>,
    /// print a JSON object instead of text
    #[argh(switch)]
    pub json: bool,
}

/// geth's dotted RPC flags (`--http.addr`, `--ws.port`, `--metrics.addr`, …) in argh's spelling.
fn dotted_flag(a: &str) -> &str {
    const DOTTED: &[(&str, &str)] = &[
        ("--http.addr", "--http-addr"),
        ("--http.port", "--http-port"),
        ("--http.api", "--http-api"),
        ("--http.corsdomain", "--http-corsdomain"),
        ("--http.vhosts", "--http-vhosts"),
        ("--ws.addr", "--ws-addr"),
        ("--ws.port", "--ws-port"),
        ("--ws.api", "--ws-api"),
        ("--ws.origins", "--ws-origins"),
        ("--metrics.addr", "--metrics-addr"),
        ("--metrics.port", "--metrics-port"),
    ];
    DOTTED
        .iter()
        .find(|(dotted, _)| *dotted == a)
        .map_or(a, |(_, dashed)| dashed)
}

/// Parses `args` (program name first) and runs the chosen verb, writing to stdout.
pub fn run(args: impl Iterator<Item = OsString>) -> Result<(), CliError> {
    let args: Vec<String> = args
        .map(|a| {
            a.into_string().map_err(|a| {
                CliError::Usage(format!("argument is not UTF-8: {}", a.to_string_lossy()))
            })
        })
        .collect::<Result<_, _>>()?;
    // geth spells flags like `--log.format`; argh allows no dots in flag names, so accept both.
    let strs: Vec<&str> = args
        .iter()
        .map(|a| match a.as_str() {
            "--log.format" => "--log-format",
            "--sync.minpeers" => "--sync-minpeers",
            "--eth.versions" => "--eth-versions",
            "--log.file" => "--log-file",
            "--discovery.v4" => "--discovery-v4",
            "--discovery.v5" => "--discovery-v5",
            other => other,
        })
        .map(dotted_flag)
        .collect();
    let rest = strs.get(1..).unwrap_or_default();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if rest == ["--version"] {
        return line(&mut out, version_text());
    }
    let cli = match Cli::from_args(&["ethpeer"], rest) {
        Ok(cli) => cli,
        Err(early) if early.status.is_ok() => {
            // --help: the usage text is the requested output.
            return line(&mut out, early.output.trim_end());
        }
        Err(early) => {
            // argh's messages can span lines ("...not provided:\n    file"); keep one line.
            let msg: Vec<&str> = early.output.split_whitespace().collect();
            return Err(CliError::Usage(msg.join(" ")));
        }
    };
    match cli.command {
        Command::Node(n) => node::run(&n),
        Command::Bootnode(b) => discv4::bootnode(&b, &mut out),
        Command::Discv4(d) => match d.verb {
            Discv4Verb::Ping(a) => discv4::ping(&a, &mut out),
            Discv4Verb::RequestEnr(a) => discv4::request_enr(&a, &mut out),
            Discv4Verb::Resolve(a) => discv4::resolve(&a, &mut out),
            Discv4Verb::Crawl(a) => discv4::crawl(&a, &mut out),
        },
        Command::Discv5(d) => match d.verb {
            Discv5Verb::Ping(a) => discv5::ping(&a, &mut out),
            Discv5Verb::Listen(a) => discv5::listen(&a, &mut out),
            Discv5Verb::Crawl(a) => discv5::crawl(&a, &mut out),
            Discv5Verb::Resolve(a) => discv5::resolve(&a, &mut out),
        },
        Command::Rlpx(r) => match r.verb {
            RlpxVerb::Ping(a) => rlpx::ping(&a, &mut out),
        },
        Command::Key(k) => match k.verb {
            KeyVerb::Generate(a) => key::generate(&a, &mut out),
            KeyVerb::ToId(a) => key::to_id(&a, &mut out),
            KeyVerb::ToEnode(a) => key::to_enode(&a, &mut out),
            KeyVerb::ToEnr(a) => key::to_enr(&a, &mut out),
        },
        Command::Enr(e) => match e.verb {
            EnrVerb::Decode(a) => enr::decode(&a, &mut io::stdin().lock(), &mut out),
        },
        Command::Import(a) => import::import(&a),
        Command::Export(a) => import::export(&a),
        Command::Test(t) => match t.verb {
            TestVerb::Eth(a) => test::eth(&a, &mut out),
            TestVerb::Discv4(a) => test::discv4(&a, &mut out),
            TestVerb::Discv5(a) => test::discv5(&a, &mut out),
        },
        Command::Version(_) => line(&mut out, version_text()),
    }
}

/// Reads at most `limit` bytes of text from `r`, refusing longer input rather than reading it
/// all into memory.
fn read_bounded(r: &mut dyn Read, limit: usize, what: &str) -> Result<String, CliError> {
    let mut buf = Vec::new();
    r.take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(CliError::io(what))?;
    if buf.len() > limit {
        return Err(CliError::Invalid(format!(
            "{what}: too long (more than {limit} bytes)"
        )));
    }
    String::from_utf8(buf).map_err(|_| CliError::Invalid(format!("{what}: not UTF-8 text")))
}

/// Reads a small text file, bounded as [`read_bounded`].
fn read_file_bounded(path: &Path, limit: usize) -> Result<String, CliError> {
    let what = path.display().to_string();
    let mut f = std::fs::File::open(path).map_err(CliError::io(&what))?;
    read_bounded(&mut f, limit, &what)
}

/// Writes one line of output.
fn line(out: &mut dyn Write, text: impl fmt::Display) -> Result<(), CliError> {
    writeln!(out, "{text}").map_err(CliError::io("stdout"))
}
