//! The JSON-RPC 2.0 envelope (jsonrpc.org/specification, go-ethereum `rpc/handler.go` and
//! `rpc/errors.go`): a request or a batch in, the responses out. Calls without an `id` are
//! notifications (run, never answered); ids are echoed as given; a batch is answered in order,
//! with geth's limits (at most [`Limits::batch_items_max`] calls, at most
//! [`Limits::batch_response_size_max`] response bytes) and geth's error codes and messages, which
//! users match on.

use serde_json::Value;

use super::Limits;

/// An error answered to a call: geth's codes and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

/// Codes (JSON-RPC 2.0 and geth's own).
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// geth `errcodeDefault`: an error a method returned.
pub const SERVER_ERROR: i64 = -32000;
/// geth `errcodeResponseTooLarge`.
pub const RESPONSE_TOO_LARGE: i64 = -32003;

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// The body is not JSON (geth: "parse error").
    pub fn parse() -> RpcError {
        Self::new(PARSE_ERROR, "parse error")
    }

    /// Not a valid request object, an empty batch, a batch too large.
    pub fn invalid_request(why: &str) -> RpcError {
        Self::new(INVALID_REQUEST, why)
    }

    /// geth's wording, which tools match on.
    pub fn method_not_found(method: &str) -> RpcError {
        Self::new(
            METHOD_NOT_FOUND,
            format!("the method {method} does not exist/is not available"),
        )
    }

    /// A subscription name the namespace does not have (geth's code, its own text).
    pub fn method_not_found_text(text: String) -> RpcError {
        Self::new(METHOD_NOT_FOUND, text)
    }

    /// Wrong arguments: geth's "missing value for required argument N", "invalid argument N: …".
    pub fn invalid_params(why: impl Into<String>) -> RpcError {
        Self::new(INVALID_PARAMS, why)
    }

    /// Something on our side failed (storage, a corrupt item).
    pub fn internal(why: impl Into<String>) -> RpcError {
        Self::new(INTERNAL_ERROR, why)
    }

    /// An error the method itself reports (geth `errcodeDefault`).
    pub fn server(why: impl Into<String>) -> RpcError {
        Self::new(SERVER_ERROR, why)
    }
}

/// What answers calls: the method table.
pub trait Dispatch {
    /// Runs `method` with positional `params`.
    fn call(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> impl Future<Output = Result<Value, RpcError>>;
}

/// One call read from the envelope, or why it is not one (with the id to answer, if any).
enum Item {
    Call {
        id: Option<Value>,
        method: String,
        params: Result<Vec<Value>, RpcError>,
    },
    Invalid(RpcError),
}

/// Reads one request object. A non-object, a missing or wrong `jsonrpc`, a method that is not a
/// string or an id of the wrong type is an invalid request answered with id null.
fn read_item(v: Value) -> Item {
    let Value::Object(mut m) = v else {
        return Item::Invalid(RpcError::invalid_request("invalid request"));
    };
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Item::Invalid(RpcError::invalid_request("invalid request"));
    }
    let id = match m.remove("id") {
        None => None,
        Some(id @ (Value::Null | Value::Number(_) | Value::String(_))) => Some(id),
        Some(_) => return Item::Invalid(RpcError::invalid_request("invalid request")),
    };
    let Some(Value::String(method)) = m.remove("method") else {
        return Item::Invalid(RpcError::invalid_request("invalid request"));
    };
    let params = match m.remove("params") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(RpcError::invalid_params("non-array args")),
    };
    Item::Call { id, method, params }
}

/// One response object: `{"jsonrpc":"2.0","id":…,"result"|"error":…}` in geth's key order.
fn response(id: &Value, outcome: &Result<Value, RpcError>) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "null".into());
    match outcome {
        Ok(result) => format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{}}}",
            serde_json::to_string(result).unwrap_or_else(|_| "null".into())
        ),
        Err(e) => format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{}}}",
            serde_json::json!({"code": e.code, "message": e.message})
        ),
    }
}

/// Runs one item; `None` for a notification (run, not answered).
async fn run_item(d: &impl Dispatch, item: Item) -> Option<String> {
    match item {
        Item::Invalid(e) => Some(response(&Value::Null, &Err(e))),
        Item::Call { id, method, params } => {
            let outcome = match params {
                Ok(p) => d.call(&method, p).await,
                Err(e) => Err(e),
            };
            id.map(|id| response(&id, &outcome))
        }
    }
}

/// Answers one HTTP body: `None` when there is nothing to answer (notifications only).
pub async fn handle(d: &impl Dispatch, body: &[u8], limits: &Limits) -> Option<String> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Some(response(&Value::Null, &Err(RpcError::parse())));
    };
    let Value::Array(batch) = v else {
        return run_item(d, read_item(v)).await;
    };
    if batch.is_empty() {
        return Some(response(
            &Value::Null,
            &Err(RpcError::invalid_request("empty batch")),
        ));
    }
    if batch.len() > limits.batch_items_max {
        // One error for the whole batch, carrying the first call's id (geth).
        let id = batch
            .iter()
            .find_map(|v| v.get("id").filter(|_| v.get("method").is_some()))
            .cloned()
            .unwrap_or(Value::Null);
        let e = RpcError::invalid_request("batch too large");
        return Some(format!("[{}]", response(&id, &Err(e))));
    }
    let mut out: Vec<String> = Vec::new();
    let mut bytes = 0usize;
    let mut items = batch.into_iter().map(read_item);
    for item in items.by_ref() {
        if let Some(r) = run_item(d, item).await {
            bytes += r.len();
            out.push(r);
            if bytes > limits.batch_response_size_max {
                break;
            }
        }
    }
    // Past the size limit, the remaining calls are answered with an error instead of run.
    for item in items {
        if let Item::Call { id: Some(id), .. } = item {
            let e = RpcError {
                code: RESPONSE_TOO_LARGE,
                message: "response too large".into(),
            };
            out.push(response(&id, &Err(e)));
        }
    }
    if out.is_empty() {
        return None;
    }
    Some(format!("[{}]", out.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echoes its params, fails `boom`, knows nothing else.
    struct Echo;

    impl Dispatch for Echo {
        async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
            match method {
                "echo" => Ok(Value::Array(params)),
                "big" => Ok(Value::String("x".repeat(100))),
                "boom" => Err(RpcError::server("boom")),
                m => Err(RpcError::method_not_found(m)),
            }
        }
    }

    fn run(body: &str) -> Option<Value> {
        run_with(body, &Limits::default())
    }

    fn run_with(body: &str, limits: &Limits) -> Option<Value> {
        futures_lite::future::block_on(handle(&Echo, body.as_bytes(), limits))
            .map(|s| serde_json::from_str(&s).unwrap())
    }

    #[test]
    fn single_calls_echo_ids_and_errors_use_geths_codes() {
        let r = run(r#"{"jsonrpc":"2.0","id":"a7","method":"echo","params":[1]}"#).unwrap();
        assert_eq!(
            r,
            serde_json::json!({"jsonrpc":"2.0","id":"a7","result":[1]})
        );
        let r = run(r#"{"jsonrpc":"2.0","id":7,"method":"nope"}"#).unwrap();
        assert_eq!(r["id"], 7);
        assert_eq!(r["error"]["code"], -32601);
        assert_eq!(
            r["error"]["message"],
            "the method nope does not exist/is not available"
        );
        let r = run(r#"{"jsonrpc":"2.0","id":null,"method":"boom"}"#).unwrap();
        assert_eq!(
            r["error"],
            serde_json::json!({"code":-32000,"message":"boom"})
        );
        assert!(r["id"].is_null());
        let r = run(r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}}"#).unwrap();
        assert_eq!(r["error"]["code"], -32602);
    }

    #[test]
    fn malformed_bodies_and_requests() {
        let r = run(r#"{"jsonrpc":"2.0","id":1,"#).unwrap();
        assert_eq!(
            r,
            serde_json::json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}})
        );
        for bad in [
            r#"{"jsonrpc":"1.0","id":1,"method":"echo"}"#,
            r#"{"id":1,"method":"echo"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            r#"{"jsonrpc":"2.0","id":[1],"method":"echo"}"#,
            r#"5"#,
        ] {
            let r = run(bad).unwrap();
            assert_eq!(r["error"]["code"], -32600, "{bad}");
            assert!(r["id"].is_null(), "{bad}");
        }
        let r = run("[]").unwrap();
        assert_eq!(r["error"]["message"], "empty batch");
    }

    #[test]
    fn notifications_get_no_answer_and_batches_keep_order() {
        assert!(run(r#"{"jsonrpc":"2.0","method":"echo"}"#).is_none());
        assert!(
            run(r#"[{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"boom"}]"#)
                .is_none()
        );
        let r = run(r#"[{"jsonrpc":"2.0","id":2,"method":"echo","params":["b"]},
                {"jsonrpc":"2.0","method":"echo"},
                1,
                {"jsonrpc":"2.0","id":"x","method":"nope"}]"#)
        .unwrap();
        let a = r.as_array().unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0]["result"], serde_json::json!(["b"]));
        assert_eq!(a[1]["error"]["code"], -32600);
        assert_eq!(a[2]["id"], "x");
    }

    #[test]
    fn batch_limits() {
        let limits = Limits {
            batch_items_max: 3,
            batch_response_size_max: 250,
            ..Limits::default()
        };
        let call = |id: u32, m: &str| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{m}"}}"#);
        let four = format!(
            "[{}]",
            (1..=4)
                .map(|i| call(i, "echo"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let r = run_with(&four, &limits).unwrap();
        assert_eq!(
            r,
            serde_json::json!([{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"batch too large"}}])
        );
        // Each "big" answer is ~140 bytes: the second crosses 250, the third is refused.
        let three = format!(
            "[{}]",
            (1..=3)
                .map(|i| call(i, "big"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let r = run_with(&three, &limits).unwrap();
        let a = r.as_array().unwrap();
        assert!(a[0]["result"].is_string() && a[1]["result"].is_string());
        assert_eq!(
            a[2],
            serde_json::json!({"jsonrpc":"2.0","id":3,"error":{"code":-32003,"message":"response too large"}})
        );
    }
}
