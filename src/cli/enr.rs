//! `ethpeer enr decode`: shows a node record's fields and whether its signature verifies
//! (EIP-778), as text or as a JSON object.

use std::io::{Read, Write};
use std::path::Path;

use ethpeer::crypto::hex;
use ethpeer::enr::{ENR_TEXT_PREFIX, Record};

use super::{CliError, EnrDecode, line, read_bounded, read_file_bounded};

/// Largest input read from a file or stdin. A record's text is at most
/// `ethpeer::enr::ENR_TEXT_LEN_MAX` (404) characters; the rest leaves room for whitespace and
/// line endings around it.
const ENR_INPUT_SIZE_MAX: usize = 4096;

/// The keys shown as decoded fields; other entries are listed raw.
const KNOWN_KEYS: &[&[u8]] = &[
    b"id",
    b"secp256k1",
    b"ip",
    b"ip6",
    b"tcp",
    b"udp",
    b"tcp6",
    b"udp6",
    b"eth",
];

/// Gets the record text from the argument, the file it names, or stdin.
fn input_text(args: &EnrDecode, stdin: &mut dyn Read) -> Result<String, CliError> {
    match args.input.as_deref() {
        None | Some("-") => read_bounded(stdin, ENR_INPUT_SIZE_MAX, "stdin"),
        Some(text) if text.starts_with(ENR_TEXT_PREFIX) => Ok(text.to_string()),
        Some(url) if url.starts_with("enode://") => Err(CliError::Invalid(format!(
            "{}: an enode URL, not a node record (records start with `enr:`)",
            short(url)
        ))),
        Some(path) if !Path::new(path).exists() => Err(CliError::Invalid(format!(
            "{:?} is neither an `enr:` record nor a file",
            short(path)
        ))),
        Some(path) => read_file_bounded(Path::new(path), ENR_INPUT_SIZE_MAX),
    }
}

/// At most 80 characters of an argument, for an error line.
fn short(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A key as printable text (keys are byte strings; real ones are short ASCII names).
fn key_name(k: &[u8]) -> String {
    String::from_utf8_lossy(k).escape_debug().to_string()
}

/// The record's fields as `(name, value)` text pairs, in display order. JSON numbers are
/// marked by `Num`.
enum Val {
    Str(String),
    Num(u64),
}

fn fields(r: &Record) -> Vec<(String, Val)> {
    let mut f = vec![("seq".to_string(), Val::Num(r.seq()))];
    if let Some(id) = r.node_id() {
        f.push(("node-id".into(), Val::Str(id.to_string())));
    }
    if let Some(pk) = r.public_key() {
        f.push(("public-key".into(), Val::Str(hex(&pk.to_bytes()))));
    }
    if let Some(scheme) = r.id_scheme() {
        f.push(("id".into(), Val::Str(key_name(scheme))));
    }
    if let Some(ip) = r.ip() {
        f.push(("ip".into(), Val::Str(ip.to_string())));
    }
    if let Some(ip6) = r.ip6() {
        f.push(("ip6".into(), Val::Str(ip6.to_string())));
    }
    for (name, port) in [
        ("tcp", r.tcp()),
        ("udp", r.udp()),
        ("tcp6", r.tcp6()),
        ("udp6", r.udp6()),
    ] {
        if let Some(p) = port {
            f.push((name.into(), Val::Num(p.into())));
        }
    }
    if let Some(fork) = r.eth() {
        f.push((
            "eth-fork-hash".into(),
            Val::Str(format!("0x{}", hex(&fork.hash))),
        ));
        f.push(("eth-fork-next".into(), Val::Num(fork.next)));
    }
    if let Some(enode) = r.to_enode() {
        f.push(("enode".into(), Val::Str(enode.to_string())));
    }
    for (k, v) in r.pairs() {
        if !KNOWN_KEYS.contains(&k) {
            f.push((
                format!("entry {}", key_name(k)),
                Val::Str(format!("0x{}", hex(v))),
            ));
        }
    }
    f
}

/// `enr decode`: prints the fields, then fails if the signature does not verify, so scripts
/// can trust exit status 0.
pub fn decode(args: &EnrDecode, stdin: &mut dyn Read, out: &mut dyn Write) -> Result<(), CliError> {
    let text = input_text(args, stdin)?;
    let record = Record::from_text(text.trim()).map_err(|e| CliError::Invalid(e.to_string()))?;
    let verdict = record.verify();
    let fields = fields(&record);
    if args.json {
        let members: Vec<(String, serde_json::Value)> = fields
            .iter()
            .map(|(name, v)| {
                let value = match v {
                    Val::Str(t) => serde_json::Value::from(t.as_str()),
                    Val::Num(n) => serde_json::Value::from(*n),
                };
                (name.replace(['-', ' '], "_"), value)
            })
            .chain([("signature_valid".to_string(), verdict.is_ok().into())])
            .collect();
        line(
            out,
            ethpeer::log::json_object(members.iter().map(|(k, v)| (k.as_str(), v.clone()))),
        )?;
    } else {
        for (name, v) in &fields {
            match v {
                Val::Str(t) => line(out, format_args!("{name}: {t}"))?,
                Val::Num(n) => line(out, format_args!("{name}: {n}"))?,
            }
        }
        let status = if verdict.is_ok() { "valid" } else { "INVALID" };
        line(out, format_args!("signature: {status}"))?;
    }
    out.flush().map_err(CliError::io("stdout"))?;
    verdict
        .map(|_| ())
        .map_err(|e| CliError::Invalid(e.to_string()))
}
