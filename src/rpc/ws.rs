//! JSON-RPC over WebSocket (go-ethereum `rpc/websocket.go`): async-tungstenite does the
//! handshake and framing over smol's sockets. The handshake's `Origin` is checked against
//! `--ws.origins` as geth checks it (no header: allowed, since only browsers send one; no
//! `--ws.origins`: only `http://localhost`), within the read timeout. Each text message is a
//! request or a batch answered in order; `eth_subscribe`/`admin_subscribe` register with the
//! [`Hub`], whose notifications come through the connection's bounded outbox. Messages are at
//! most [`MESSAGE_SIZE_MAX`]; answers are written within the write timeout.

use std::rc::Rc;

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use futures_lite::{FutureExt, StreamExt};
use serde_json::{Value, json};

use super::WsConfig;
use super::api::Backend;
use super::http::Deadline;
use super::jsonrpc::{self, Dispatch, RpcError};
use super::params::Params;
use super::subscriptions::{Hub, Kind, OUTBOX_MAX, SUBSCRIPTIONS_PER_CONNECTION_MAX};

/// A WebSocket message (request or batch) is at most 32 MiB (geth `wsDefaultReadLimit`).
pub const MESSAGE_SIZE_MAX: usize = 32 * 1024 * 1024;

/// What every WebSocket connection shares.
pub struct WsContext {
    pub backend: Rc<Backend>,
    pub hub: Rc<Hub>,
    pub config: WsConfig,
    pub open: std::cell::Cell<usize>,
}

/// Whether `origin` may open a connection (geth `wsHandshakeValidator`).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.to_ascii_lowercase();
    if allowed.is_empty() {
        return origin == "http://localhost";
    }
    allowed
        .iter()
        .any(|a| a == "*" || a.to_ascii_lowercase() == origin)
}

struct Slot<'a>(&'a std::cell::Cell<usize>);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Serves one accepted connection to its end; over the connection limit it is closed at once.
pub async fn serve_connection(ctx: Rc<WsContext>, stream: async_net::TcpStream) {
    let limits = &ctx.config.limits;
    if ctx.open.get() >= limits.connections_max {
        crate::log::debug("WebSocket connection refused: too many open", &[]);
        return;
    }
    ctx.open.set(ctx.open.get() + 1);
    let _slot = Slot(&ctx.open);
    let io = Deadline::new(stream, None, Some(limits.write_timeout));
    let origins = ctx.config.origins.clone();
    // The library's callback type fixes the error's shape.
    #[allow(clippy::result_large_err)]
    let check = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let Some(origin) = req.headers().get("origin") else {
            return Ok(resp);
        };
        if origin_allowed(origin.to_str().unwrap_or(""), &origins) {
            return Ok(resp);
        }
        crate::log::debug(
            "Rejected WebSocket connection",
            &[("origin", &format!("{origin:?}"))],
        );
        let mut r = ErrorResponse::new(Some("websocket: request origin not allowed\n".into()));
        *r.status_mut() = async_tungstenite::tungstenite::http::StatusCode::FORBIDDEN;
        Err(r)
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MESSAGE_SIZE_MAX))
        .max_frame_size(Some(MESSAGE_SIZE_MAX));
    let handshake = async {
        Some(async_tungstenite::accept_hdr_async_with_config(io, check, Some(config)).await)
    };
    let timeout = async {
        async_io::Timer::after(limits.read_timeout).await;
        None
    };
    let mut ws = match handshake.or(timeout).await {
        Some(Ok(ws)) => ws,
        Some(Err(e)) => {
            crate::log::debug("WebSocket handshake failed", &[("err", &e)]);
            return;
        }
        None => return,
    };
    let conn = ctx.hub.connection();
    let (outbox, notifications) = async_channel::bounded::<String>(OUTBOX_MAX);
    let dispatch = WsDispatch {
        backend: &ctx.backend,
        hub: &ctx.hub,
        conn,
        outbox: &outbox,
        apis: &ctx.config.apis,
    };
    loop {
        let incoming = async { Some(Ok(ws.next().await)) };
        let notice = async { notifications.recv().await.ok().map(Err) };
        let next = incoming.or(notice).await;
        let reply = match next {
            // A notification to write.
            Some(Err(text)) => Some(text),
            Some(Ok(Some(Ok(Message::Text(text))))) => {
                jsonrpc::handle(&dispatch, text.as_bytes(), limits).await
            }
            Some(Ok(Some(Ok(Message::Binary(bytes))))) => {
                jsonrpc::handle(&dispatch, &bytes, limits).await
            }
            // Pings are answered by the library; pongs and frames need nothing.
            Some(Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))))) => None,
            // Closed by the client, an error, or the outbox closed for being too slow.
            Some(Ok(Some(Ok(Message::Close(_)))))
            | Some(Ok(Some(Err(_))))
            | Some(Ok(None))
            | None => break,
        };
        if let Some(text) = reply
            && ws.send(Message::text(text)).await.is_err()
        {
            break;
        }
    }
    ctx.hub.remove_connection(conn);
}

/// The method table of one connection: subscriptions here, everything else the backend's.
struct WsDispatch<'a> {
    backend: &'a Backend,
    hub: &'a Hub,
    conn: u64,
    outbox: &'a async_channel::Sender<String>,
    apis: &'a [String],
}

impl Dispatch for WsDispatch<'_> {
    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
        let (namespace, name) = method.split_once('_').unwrap_or((method, ""));
        let enabled = self.apis.iter().any(|a| a == namespace);
        match name {
            "subscribe" if enabled => {
                let p = Params::new(params, 2)?;
                let what = p.string(0)?;
                let kind = Kind::parse(namespace, &what).ok_or_else(|| {
                    RpcError::method_not_found_text(format!(
                        "no {what:?} subscription in {namespace} namespace"
                    ))
                })?;
                if self.hub.count(self.conn) >= SUBSCRIPTIONS_PER_CONNECTION_MAX {
                    return Err(RpcError::server(format!(
                        "too many subscriptions (at most {SUBSCRIPTIONS_PER_CONNECTION_MAX} per connection)"
                    )));
                }
                Ok(json!(self.hub.add(self.conn, kind, self.outbox.clone())))
            }
            "unsubscribe" if enabled => {
                let p = Params::new(params, 1)?;
                if self.hub.remove(self.conn, &p.string(0)?) {
                    Ok(json!(true))
                } else {
                    Err(RpcError::server("subscription not found"))
                }
            }
            _ => self.backend.call(method, params).await,
        }
    }
}
