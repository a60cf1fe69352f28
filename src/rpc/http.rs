//! The HTTP transport (go-ethereum `node/rpcstack.go` and `rpc/http.go`): hyper 1 serves each
//! connection as a task on the RPC thread's executor, over smol's sockets. Before a body is read
//! the request is checked as geth checks it: the `Host` header against `--http.vhosts` (403, DNS
//! rebinding), the method (405), the content type (415), the declared length (413); CORS headers
//! go only to origins in `--http.corsdomain`. A body is read to at most
//! [`super::Limits::body_size_max`] within the read timeout, and the JSON-RPC answer written within
//! the write timeout; open connections are bounded.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::Timer;
use futures_lite::{AsyncRead, AsyncWrite, FutureExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::HttpConfig;
use super::jsonrpc::{self, Dispatch};

/// What one server needs for every request.
pub struct HttpContext<D> {
    pub dispatch: Rc<D>,
    pub config: HttpConfig,
    /// Connections open now.
    pub open: Cell<usize>,
}

/// Counts a connection while it lives.
struct Slot<'a>(&'a Cell<usize>);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Serves one accepted connection to its end; over the connection limit it is closed at once.
pub async fn serve_connection<D: Dispatch + 'static>(
    ctx: Rc<HttpContext<D>>,
    stream: async_net::TcpStream,
) {
    if ctx.open.get() >= ctx.config.limits.connections_max {
        crate::log::debug("RPC connection refused: too many open", &[]);
        return;
    }
    ctx.open.set(ctx.open.get() + 1);
    let _slot = Slot(&ctx.open);
    let limits = &ctx.config.limits;
    let io = smol_hyper::rt::FuturesIo::new(Deadline::new(
        stream,
        Some(limits.read_timeout),
        Some(limits.write_timeout),
    ));
    let service_ctx = ctx.clone();
    let service = hyper::service::service_fn(move |req| {
        let ctx = service_ctx.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&ctx, req).await) }
    });
    let r = hyper::server::conn::http1::Builder::new()
        .timer(smol_hyper::rt::SmolTimer::new())
        .header_read_timeout(limits.read_timeout)
        .serve_connection(io, service)
        .await;
    if let Err(e) = r {
        crate::log::debug("RPC connection ended", &[("err", &e)]);
    }
}

type Reply = Response<Full<Bytes>>;

fn plain(status: StatusCode, text: impl Into<String>) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(text.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Whether the `Host` header passes `--http.vhosts` (geth `virtualHostHandler`): no header, an IP
/// address, `*` or a listed name.
fn host_allowed(req: &Request<Incoming>, vhosts: &[String]) -> bool {
    let Some(host) = req.headers().get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    // Strip the port: `name:port`, `[v6]:port`.
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    vhosts
        .iter()
        .any(|v| v == "*" || v.eq_ignore_ascii_case(name))
}

/// The request's `Origin` when `--http.corsdomain` lets it in.
fn cors_origin(req: &Request<Incoming>, allowed: &[String]) -> Option<HeaderValue> {
    let origin = req.headers().get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(text))
        .then(|| origin.clone())
}

/// geth accepts these JSON content types (parameters such as `charset` ignored).
fn json_content_type(req: &Request<Incoming>) -> bool {
    let Some(v) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(v) = v.to_str() else {
        return false;
    };
    let mime = v.split(';').next().unwrap_or("").trim();
    [
        "application/json",
        "application/json-rpc",
        "application/jsonrequest",
    ]
    .iter()
    .any(|m| m.eq_ignore_ascii_case(mime))
}

async fn handle<D: Dispatch>(ctx: &HttpContext<D>, req: Request<Incoming>) -> Reply {
    let config = &ctx.config;
    if !host_allowed(&req, &config.vhosts) {
        return plain(StatusCode::FORBIDDEN, "invalid host specified\n");
    }
    let origin = cors_origin(&req, &config.cors);
    let mut reply = answer(ctx, req).await;
    if let Some(o) = origin {
        let h = reply.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    reply
}

async fn answer<D: Dispatch>(ctx: &HttpContext<D>, req: Request<Incoming>) -> Reply {
    let limits = &ctx.config.limits;
    match *req.method() {
        // A CORS preflight: allowed origins get the methods and headers (the origin itself is
        // added by the caller); others get no CORS headers and so no permission.
        Method::OPTIONS => {
            let mut r = plain(StatusCode::OK, "");
            if cors_origin(&req, &ctx.config.cors).is_some() {
                let h = r.headers_mut();
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("POST, GET"),
                );
                if let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
                }
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("600"),
                );
            }
            return r;
        }
        // geth answers an empty GET (a health check) with 200 and nothing else.
        Method::GET => return plain(StatusCode::OK, ""),
        Method::POST => {}
        _ => return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n"),
    }
    if !json_content_type(&req) {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid content type, only application/json is supported\n",
        );
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(n) = declared
        && n > limits.body_size_max as u64
    {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("content length too large ({n}>{})\n", limits.body_size_max),
        );
    }
    let body = Limited::new(req.into_body(), limits.body_size_max).collect();
    let timeout = async {
        Timer::after(limits.read_timeout).await;
        None
    };
    let body = match async { Some(body.await) }.or(timeout).await {
        None => return plain(StatusCode::REQUEST_TIMEOUT, "request body timed out\n"),
        Some(Err(_)) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("content length too large (>{})\n", limits.body_size_max),
            );
        }
        Some(Ok(b)) => b.to_bytes(),
    };
    let text = jsonrpc::handle(&*ctx.dispatch, &body, limits)
        .await
        .unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A stream whose reads and writes fail with `TimedOut` once one has waited longer than its
/// timeout: a client that sends nothing (or stops reading) cannot hold a connection slot.
pub struct Deadline<S> {
    inner: S,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    read_timer: Option<Timer>,
    write_timer: Option<Timer>,
}

impl<S> Deadline<S> {
    /// `None`: that direction may wait for ever.
    pub fn new(
        inner: S,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
    ) -> Deadline<S> {
        Deadline {
            inner,
            read_timeout,
            write_timeout,
            read_timer: None,
            write_timer: None,
        }
    }
}

/// Arms `timer` on the first pending poll; `Ready` once it has run out.
fn expired(timer: &mut Option<Timer>, after: Option<Duration>, cx: &mut Context<'_>) -> bool {
    let Some(after) = after else {
        return false;
    };
    let t = timer.get_or_insert_with(|| Timer::after(after));
    Pin::new(t).poll(cx).is_ready()
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "rpc connection timed out")
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read_timer = None;
                Poll::Ready(r)
            }
            Poll::Pending if expired(&mut this.read_timer, this.read_timeout, cx) => {
                Poll::Ready(Err(timed_out()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.write_timer = None;
                Poll::Ready(r)
            }
            Poll::Pending if expired(&mut this.write_timer, this.write_timeout, cx) => {
                Poll::Ready(Err(timed_out()))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
