//! Runs `ethpeer test …` as a child process under a deadline and reads its JSON-lines report:
//! one object per test, then the summary object.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run printed and how it ended.
pub struct SuiteRun {
    /// Exit code (`None`: killed at the deadline).
    pub code: Option<i32>,
    /// Each test's result and message, by name.
    pub results: BTreeMap<String, (String, Option<String>)>,
    /// The summary object.
    pub summary: serde_json::Value,
    pub stdout: String,
    pub stderr: String,
}

impl SuiteRun {
    /// Names of the tests with this result (`pass`, `fail`, `skip`).
    pub fn with(&self, result: &str) -> Vec<&str> {
        self.results
            .iter()
            .filter(|(_, (r, _))| r == result)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// The message of test `name`.
    pub fn message(&self, name: &str) -> &str {
        self.results
            .get(name)
            .and_then(|(_, m)| m.as_deref())
            .unwrap_or_else(|| panic!("no message for {name}:\n{}", self.stdout))
    }
}

/// Runs `ethpeer test ARGS --json`, killing it after `deadline`; every stdout line must be a
/// JSON object (the report is well formed).
pub fn run_suite(args: &[&str], deadline: Duration) -> SuiteRun {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .arg("test")
        .args(args)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning ethpeer test");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + deadline;
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    assert!(
        code.is_some(),
        "ethpeer test ran past {deadline:?}:\n{stdout}\n{stderr}"
    );
    let mut results = BTreeMap::new();
    let mut summary = serde_json::Value::Null;
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("report line is not JSON ({e}): {line}"));
        if v.get("summary").is_some() {
            summary = v;
            continue;
        }
        let name = v["name"].as_str().expect("a name").to_string();
        let result = v["result"].as_str().expect("a result").to_string();
        assert!(
            ["pass", "fail", "skip"].contains(&result.as_str()),
            "{line}"
        );
        let msg = v["message"].as_str().map(str::to_string);
        assert!(
            result == "pass" || msg.is_some(),
            "a fail or skip says why: {line}"
        );
        assert!(v["duration_ms"].is_u64(), "{line}");
        assert!(
            results.insert(name, (result, msg)).is_none(),
            "one line per test: {line}"
        );
    }
    assert!(
        summary.is_object(),
        "the report ends with its summary:\n{stdout}"
    );
    let count = |r: &str| results.values().filter(|(x, _)| x == r).count() as u64;
    assert_eq!(summary["passed"], count("pass"), "{stdout}");
    assert_eq!(summary["failed"], count("fail"), "{stdout}");
    assert_eq!(summary["skipped"], count("skip"), "{stdout}");
    assert_eq!(
        summary["summary"].as_str().unwrap(),
        format!(
            "{} passed, {} failed, {} skipped",
            count("pass"),
            count("fail"),
            count("skip")
        )
    );
    // Exit status 1 exactly when a test failed, with one line on stderr saying how many.
    let want = if count("fail") > 0 { 1 } else { 0 };
    assert_eq!(code, Some(want), "exit status:\n{stdout}\n{stderr}");
    if want == 1 {
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("tests failed"), "{stderr}");
    }
    SuiteRun {
        code,
        results,
        summary,
        stdout,
        stderr,
    }
}
