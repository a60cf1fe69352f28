//! Logging: one line per event on stderr, geth-style levels, terminal or JSON format.
//!
//! Verbosity follows geth's `--verbosity`: 0 silent, 1 error, 2 warn, 3 info (default), 4 debug,
//! 5 trace. The logger is a process-wide setting written once at start-up (an atomic, not a
//! lock) and read by the functions here. Protocol cores never log: they return
//! errors and events, and the shell decides what to print.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

/// The level of a log line; lower is more severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `LEVEL [time] message key=value ...`
    Terminal,
    /// `{"t":"…","lvl":"info","msg":"…","key":"value"}`
    Json,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(3);
static JSON: AtomicU8 = AtomicU8::new(0);
/// `--log.file`: set once at start; every line goes there as well as to stderr. Each line is one
/// `write` on a file opened for appending, so lines from different threads never interleave
/// and no lock is needed.
static FILE: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();

/// Opens `path` for appending (created if missing) and copies every later line to it.
pub fn init_file(path: &std::path::Path) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let _ = FILE.set(f);
    Ok(())
}

/// Sets the verbosity (0..=5) and format; called once by `main`.
pub fn init(verbosity: u8, format: Format) {
    VERBOSITY.store(verbosity.min(5), Ordering::Relaxed);
    JSON.store(u8::from(format == Format::Json), Ordering::Relaxed);
}

/// Whether a line at `level` would be written.
pub fn enabled(level: Level) -> bool {
    level as u8 <= VERBOSITY.load(Ordering::Relaxed)
}

/// Writes one line with key/value context, if `level` is enabled.
pub fn line(level: Level, msg: &str, kv: &[(&str, &dyn std::fmt::Display)]) {
    if !enabled(level) {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut s = String::with_capacity(128);
    if JSON.load(Ordering::Relaxed) == 1 {
        let t = now.as_secs() as f64 + f64::from(now.subsec_millis()) / 1000.0;
        let lvl = level.name().to_ascii_lowercase();
        let fields: Vec<(&str, serde_json::Value)> = kv
            .iter()
            .map(|(k, v)| (*k, json_value(&v.to_string())))
            .collect();
        s = json_object(
            [
                ("t", serde_json::Value::from(t)),
                ("lvl", serde_json::Value::from(lvl)),
                ("msg", serde_json::Value::from(msg)),
            ]
            .into_iter()
            .chain(fields),
        );
    } else {
        let secs = now.as_secs() % 86_400;
        let _ = write!(
            s,
            "{:<5} [{:02}:{:02}:{:02}.{:03}] {:<40}",
            level.name(),
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            now.subsec_millis(),
            msg
        );
        for (k, v) in kv {
            let v = v.to_string();
            if v.contains(' ') || v.is_empty() {
                let _ = write!(s, " {k}={v:?}");
            } else {
                let _ = write!(s, " {k}={v}");
            }
        }
    }
    s.push('\n');
    // A failed write to stderr cannot be reported anywhere better; drop it.
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
    if let Some(mut f) = FILE.get() {
        let _ = f.write_all(s.as_bytes());
    }
}

/// A logged value as JSON: integers and booleans as JSON numbers and booleans (values arrive
/// formatted, so a decimal integer or `true`/`false` is taken to be one), anything else a string.
fn json_value(v: &str) -> serde_json::Value {
    let leading_zero = v.len() > 1 && v.starts_with('0');
    if let (Ok(n), false) = (v.parse::<u64>(), leading_zero) {
        return n.into();
    }
    if let (Ok(n), false) = (v.parse::<i64>(), leading_zero || v.starts_with("-0")) {
        return n.into();
    }
    match v {
        "true" => true.into(),
        "false" => false.into(),
        _ => v.into(),
    }
}

/// One JSON object with its members in the given order (serde_json writes and escapes it).
pub fn json_object<'a>(members: impl IntoIterator<Item = (&'a str, serde_json::Value)>) -> String {
    use serde::ser::{SerializeMap, Serializer};
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::new(&mut out);
    // Writing to a Vec cannot fail, and every key is a string.
    if let Ok(mut map) = ser.serialize_map(None) {
        for (k, v) in members {
            let _ = map.serialize_entry(k, &v);
        }
        let _ = map.end();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Logs at error level.
pub fn error(msg: &str, kv: &[(&str, &dyn std::fmt::Display)]) {
    line(Level::Error, msg, kv)
}
/// Logs at warn level.
pub fn warn(msg: &str, kv: &[(&str, &dyn std::fmt::Display)]) {
    line(Level::Warn, msg, kv)
}
/// Logs at info level.
pub fn info(msg: &str, kv: &[(&str, &dyn std::fmt::Display)]) {
    line(Level::Info, msg, kv)
}
/// Logs at debug level.
pub fn debug(msg: &str, kv: &[(&str, &dyn std::fmt::Display)]) {
    line(Level::Debug, msg, kv)
}
/// Logs at trace level.
pub fn trace(msg: &str, kv: &[(&str, &dyn std::fmt::Display)]) {
    line(Level::Trace, msg, kv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_keep_their_types() {
        let text = |v: &str| json_value(v).to_string();
        assert_eq!(text("42"), "42");
        assert_eq!(text("-1"), "-1");
        assert_eq!(text("18446744073709551615"), "18446744073709551615");
        assert_eq!(text("true"), "true");
        assert_eq!(text("false"), "false");
        assert_eq!(text("0x2a"), "\"0x2a\"");
        assert_eq!(text("007"), "\"007\"");
        assert_eq!(text("1.5s"), "\"1.5s\"");
        assert_eq!(text(""), "\"\"");
    }

    #[test]
    fn json_objects_keep_member_order_and_escape_strings() {
        let line = json_object([
            ("msg", serde_json::Value::from("a\"b\\c\nd\u{1}")),
            ("b", json_value("7")),
            ("a", json_value("x")),
        ]);
        assert_eq!(line, r#"{"msg":"a\"b\\c\nd\u0001","b":7,"a":"x"}"#);
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["msg"], "a\"b\\c\nd\u{1}");
    }
}
