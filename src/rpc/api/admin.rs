//! `admin_*` (go-ethereum `node/api.go` adminAPI, `p2p/server.go` NodeInfo/PeersInfo): served
//! only when `admin` is named in `--http.api`. Peers are added and removed through the loop, as
//! [`crate::server::NodeHandle`] does.

use serde_json::{Map, Value, json};

use super::Backend;
use crate::crypto::hex;
use crate::enode::Enode;
use crate::rpc::format::data;
use crate::rpc::jsonrpc::RpcError;
use crate::rpc::params::Params;
use crate::server::control::Control;
use crate::server::eth::eth_request;

pub async fn call(b: &Backend, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
    match method {
        "admin_nodeInfo" => {
            Params::new(params, 0)?;
            node_info(b).await
        }
        "admin_peers" => {
            Params::new(params, 0)?;
            peers(b).await
        }
        "admin_addPeer" | "admin_addTrustedPeer" => {
            let p = Params::new(params, 1)?;
            let node = enode(&p.string(0)?)?;
            let trusted = method == "admin_addTrustedPeer";
            b.ask(|reply| Control::AddPeer {
                node,
                trusted,
                reply,
            })
            .await?
            .map_err(RpcError::server)?;
            Ok(json!(true))
        }
        "admin_removePeer" | "admin_removeTrustedPeer" => {
            let p = Params::new(params, 1)?;
            let id = enode(&p.string(0)?)?.node_id();
            let trusted = method == "admin_removeTrustedPeer";
            b.ask(|reply| Control::RemovePeer { id, trusted, reply })
                .await?;
            // geth answers true once the URL parses, whether or not the peer was known.
            Ok(json!(true))
        }
        "admin_datadir" => {
            Params::new(params, 0)?;
            Ok(json!(
                b.facts
                    .datadir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            ))
        }
        _ => Err(RpcError::method_not_found(method)),
    }
}

/// geth: "invalid enode: …" for a URL that does not parse.
fn enode(url: &str) -> Result<Enode, RpcError> {
    url.parse::<Enode>()
        .map_err(|e| RpcError::server(format!("invalid enode: {e}")))
}

async fn node_info(b: &Backend) -> Result<Value, RpcError> {
    let f = &b.facts;
    let ip = f.enode.ip().map(|i| i.to_string()).unwrap_or_default();
    let mut protocols = Map::new();
    if let Some(spec) = &f.chain {
        let head = b.ask(|r| eth_request(r, |e, _| e.chain_info())).await?;
        protocols.insert(
            "eth".into(),
            json!({
                "network": spec.network_id,
                "genesis": data(&spec.genesis_hash),
                "config": {"chainId": spec.chain_id},
                "head": head.map(|h| data(&h.head_hash)),
            }),
        );
    }
    Ok(json!({
        "id": f.enode.node_id().to_string(),
        "name": f.client_id,
        "enode": f.enode.to_string(),
        "enr": f.enr,
        "ip": ip,
        "ports": {"discovery": f.discovery_port, "listener": f.listener_port},
        "listenAddr": format!("[::]:{}", f.listener_port),
        "protocols": protocols,
    }))
}

async fn peers(b: &Backend) -> Result<Value, RpcError> {
    let peers = b.ask(Control::Peers).await?;
    let local = format!(
        "{}:{}",
        b.facts
            .enode
            .ip()
            .map(|i| i.to_string())
            .unwrap_or_default(),
        b.facts.listener_port
    );
    let out: Vec<Value> = peers
        .iter()
        .map(|p| {
            let enode = Enode::new(p.key, p.addr.ip(), p.addr.port(), p.addr.port());
            let eth = p
                .caps
                .iter()
                .filter_map(|c| c.strip_prefix("eth/")?.parse::<u32>().ok())
                .max();
            let mut protocols = Map::new();
            if let Some(v) = eth {
                protocols.insert("eth".into(), json!({"version": v}));
            }
            json!({
                "enode": enode.to_string(),
                "id": hex(&p.id.0),
                "name": p.name,
                "caps": p.caps,
                "network": {
                    "localAddress": local,
                    "remoteAddress": p.addr.to_string(),
                    "inbound": p.inbound,
                    "trusted": p.trusted,
                    "static": p.is_static,
                },
                "protocols": protocols,
            })
        })
        .collect();
    Ok(Value::Array(out))
}
