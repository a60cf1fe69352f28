//! `ethpeer rlpx ping ENODE`: dial a node, run the RLPx handshake and the Hello exchange, print
//! the remote's Hello, and leave with Disconnect (go-ethereum `devp2p rlpx ping`).

use std::io::Write;

use argh::FromArgs;

use super::CliError;
use ethpeer::crypto::{SecretKey, hex, os_random};
use ethpeer::enode::Enode;
use ethpeer::p2p::{Hello, P2P_VERSION};

/// Dial a node, exchange Hello, print it, and disconnect.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "ping")]
pub struct RlpxPing {
    /// the node to dial: enode://<id>@<ip>:<port>
    #[argh(positional)]
    pub enode: String,
    /// print the Hello as a JSON object
    #[argh(switch)]
    pub json: bool,
}

/// Runs `rlpx ping` with a fresh throwaway key.
pub fn ping(args: &RlpxPing, out: &mut dyn Write) -> Result<(), CliError> {
    let enode: Enode = args
        .enode
        .parse()
        .map_err(|e| CliError::Invalid(format!("{}: {e}", args.enode)))?;
    let enode = super::node::resolve(enode)
        .map_err(|e| CliError::Invalid(format!("{}: {e}", args.enode)))?;
    let addr = enode.tcp_addr().ok_or_else(|| {
        CliError::Invalid(format!(
            "{}: needs an IP address and a TCP port",
            args.enode
        ))
    })?;
    let key = SecretKey::generate(os_random);
    let ours = Hello {
        protocol_version: P2P_VERSION,
        client_id: super::node::client_id(None),
        capabilities: Vec::new(),
        listen_port: 0,
        id: key.public_key(),
    };
    let theirs = async_io::block_on(ethpeer::server::connection::probe(
        addr, enode.id, &key, &ours,
    ))
    .map_err(CliError::Invalid)?;
    let caps: Vec<String> = theirs.capabilities.iter().map(|c| c.to_string()).collect();
    let text = if args.json {
        ethpeer::log::json_object([
            ("protocolVersion", theirs.protocol_version.into()),
            ("clientId", theirs.client_id.as_str().into()),
            ("caps", caps.clone().into()),
            ("listenPort", theirs.listen_port.into()),
            ("id", hex(&theirs.id.to_bytes()).into()),
        ])
    } else {
        format!(
            "protocol version: {}\nclient id: {}\ncapabilities: {}\nlisten port: {}\nid: {}",
            theirs.protocol_version,
            theirs.client_id,
            caps.join(" "),
            theirs.listen_port,
            hex(&theirs.id.to_bytes())
        )
    };
    writeln!(out, "{text}").map_err(CliError::io("stdout"))
}
