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
        let _ = write!(
            s,
            "{{\"t\":{}.{:03},\"lvl\":\"{}\",\"msg\":{}",
            now.as_secs(),
            now.subsec_millis(),
            level.name().to_ascii_lowercase(),
            json_string(msg)
        );
        for (k, v) in kv {
            let v = v.to_string();
            let _ = write!(s, ",{}:{}", json_string(k), json_value(&v));
        }
        s.push('}');
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
fn json_value(v: &str) -> String {
    let integer = !v.is_empty()
        && v.len() <= 20
        && (v.parse::<u64>().is_ok() || v.parse::<i64>().is_ok())
        && !(v.len() > 1 && v.starts_with('0'));
    if integer || v == "true" || v == "false" {
        v.to_string()
    } else {
        json_string(v)
    }
}

/// A JSON string literal with the escapes JSON requires.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
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
        assert_eq!(json_value("42"), "42");
        assert_eq!(json_value("-1"), "-1");
        assert_eq!(json_value("true"), "true");
        assert_eq!(json_value("false"), "false");
        assert_eq!(json_value("0x2a"), "\"0x2a\"");
        assert_eq!(json_value("007"), "\"007\"");
        assert_eq!(json_value("1.5s"), "\"1.5s\"");
        assert_eq!(json_value(""), "\"\"");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
