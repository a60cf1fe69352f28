//! The test runner of `ethpeer test` (in the manner of go-ethereum's `internal/utesting`): a list
//! of named tests, a regular-expression filter, one deadline per test, and the report in one of
//! three forms: plain lines, TAP version 13, or JSON lines. Each test runs on a thread of its own;
//! when its deadline passes the runner reports it failed and moves on, leaving the thread behind
//! (its sockets carry their own timeouts, so it ends soon after), so a node that hangs fails the
//! test and never stalls the run.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Why a test did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The node did something the test forbids, or failed to do what it requires.
    Fail(String),
    /// The test cannot run here (a version the node lacks, data the chain dir lacks).
    Skip(String),
}

impl Stop {
    /// A failure with this message.
    pub fn fail(msg: impl fmt::Display) -> Stop {
        Stop::Fail(msg.to_string())
    }
}

/// What a test function returns.
pub type TestResult = Result<(), Stop>;

/// One named test.
#[derive(Clone)]
pub struct Test {
    /// geth's name, with the eth version appended where the suite runs per version.
    pub name: String,
    /// The test fails when it has not finished within this.
    pub deadline: Duration,
    /// The test itself.
    pub run: Arc<dyn Fn() -> TestResult + Send + Sync>,
}

/// The report's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `PASS name (0.12s)` lines, then the summary.
    Plain,
    /// TAP version 13: `ok 1 - name`, `not ok 2 - name`, `# SKIP reason`, the summary as a comment.
    Tap,
    /// One JSON object per test, then one with the summary.
    Json,
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// The counts the run ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// Keeps the tests whose name `filter` matches (anywhere in the name, as `go test -run`).
pub fn select(tests: Vec<Test>, filter: Option<&regex_lite::Regex>) -> Vec<Test> {
    tests
        .into_iter()
        .filter(|t| filter.is_none_or(|re| re.is_match(&t.name)))
        .collect()
}

/// Runs one test under its deadline.
pub fn run_one(test: &Test) -> (Outcome, Duration) {
    let start = Instant::now();
    let (tx, rx) = mpsc::sync_channel(1);
    let run = test.run.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("test {}", test.name))
        .spawn(move || {
            let _ = tx.send(run());
        });
    if let Err(e) = spawned {
        return (
            Outcome::Fail(format!("could not start the test: {e}")),
            start.elapsed(),
        );
    }
    let outcome = match rx.recv_timeout(test.deadline) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(Stop::Fail(m))) => Outcome::Fail(m),
        Ok(Err(Stop::Skip(m))) => Outcome::Skip(m),
        Err(mpsc::RecvTimeoutError::Timeout) => Outcome::Fail(format!(
            "deadline of {:?} passed: the node did not finish the exchange",
            test.deadline
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Outcome::Fail("the test ended abnormally".into())
        }
    };
    (outcome, start.elapsed())
}

/// Runs `tests` in order, writing each result to `out` as it comes, then the summary.
pub fn run_all(tests: &[Test], format: Format, out: &mut dyn Write) -> std::io::Result<Summary> {
    let mut sum = Summary::default();
    if format == Format::Tap {
        writeln!(out, "TAP version 13")?;
        writeln!(out, "1..{}", tests.len())?;
    }
    for (i, test) in tests.iter().enumerate() {
        let (outcome, took) = run_one(test);
        match &outcome {
            Outcome::Pass => sum.passed += 1,
            Outcome::Fail(_) => sum.failed += 1,
            Outcome::Skip(_) => sum.skipped += 1,
        }
        write_result(out, format, i + 1, &test.name, &outcome, took)?;
        out.flush()?;
    }
    match format {
        Format::Plain => writeln!(out, "{sum}")?,
        Format::Tap => writeln!(out, "# {sum}")?,
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::json!({
                "summary": sum.to_string(),
                "passed": sum.passed,
                "failed": sum.failed,
                "skipped": sum.skipped,
            })
        )?,
    }
    out.flush()?;
    Ok(sum)
}

fn write_result(
    out: &mut dyn Write,
    format: Format,
    n: usize,
    name: &str,
    outcome: &Outcome,
    took: Duration,
) -> std::io::Result<()> {
    let secs = took.as_secs_f64();
    match format {
        Format::Plain => match outcome {
            Outcome::Pass => writeln!(out, "PASS {name} ({secs:.2}s)"),
            Outcome::Fail(m) => writeln!(out, "FAIL {name} ({secs:.2}s): {}", one_line(m)),
            Outcome::Skip(m) => writeln!(out, "SKIP {name}: {}", one_line(m)),
        },
        Format::Tap => match outcome {
            Outcome::Pass => writeln!(out, "ok {n} - {name}"),
            Outcome::Fail(m) => {
                writeln!(out, "not ok {n} - {name}")?;
                writeln!(out, "  ---")?;
                writeln!(out, "  message: {}", serde_json::Value::from(one_line(m)))?;
                writeln!(out, "  duration_ms: {}", took.as_millis())?;
                writeln!(out, "  ...")
            }
            Outcome::Skip(m) => writeln!(out, "ok {n} - {name} # SKIP {}", one_line(m)),
        },
        Format::Json => {
            let (result, msg) = match outcome {
                Outcome::Pass => ("pass", None),
                Outcome::Fail(m) => ("fail", Some(m)),
                Outcome::Skip(m) => ("skip", Some(m)),
            };
            let line = serde_json::json!({
                "name": name,
                "result": result,
                "message": msg,
                "duration_ms": took.as_millis() as u64,
            });
            writeln!(out, "{line}")
        }
    }
}

/// A message on one line (TAP and the plain form are line-based).
fn one_line(m: &str) -> String {
    m.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(
        name: &str,
        deadline_ms: u64,
        f: impl Fn() -> TestResult + Send + Sync + 'static,
    ) -> Test {
        Test {
            name: name.into(),
            deadline: Duration::from_millis(deadline_ms),
            run: Arc::new(f),
        }
    }

    #[test]
    fn a_hanging_test_fails_at_its_deadline_and_the_run_goes_on() {
        let tests = vec![
            test("Hang", 100, || {
                std::thread::sleep(Duration::from_secs(5));
                Ok(())
            }),
            test("Ok", 1000, || Ok(())),
            test("Bad", 1000, || Err(Stop::fail("wrong\nthing"))),
            test("Later", 1000, || Err(Stop::Skip("needs x".into()))),
        ];
        let mut out = Vec::new();
        let sum = run_all(&tests, Format::Plain, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            sum,
            Summary {
                passed: 1,
                failed: 2,
                skipped: 1
            },
            "{text}"
        );
        assert!(text.contains("FAIL Hang"), "{text}");
        assert!(text.contains("deadline of 100ms passed"), "{text}");
        assert!(
            text.contains("FAIL Bad") && text.contains("wrong thing"),
            "{text}"
        );
        assert!(text.contains("SKIP Later: needs x"), "{text}");
        assert!(text.ends_with("1 passed, 2 failed, 1 skipped\n"), "{text}");
    }

    #[test]
    fn tap_and_json_forms() {
        let tests = vec![
            test("A/eth68", 1000, || Ok(())),
            test("B", 1000, || Err(Stop::fail("x \"y\""))),
            test("C", 1000, || Err(Stop::Skip("why".into()))),
        ];
        let mut out = Vec::new();
        run_all(&tests, Format::Tap, &mut out).unwrap();
        let tap = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = tap.lines().collect();
        assert_eq!(lines[0], "TAP version 13");
        assert_eq!(lines[1], "1..3");
        assert_eq!(lines[2], "ok 1 - A/eth68");
        assert_eq!(lines[3], "not ok 2 - B");
        assert!(tap.contains("ok 3 - C # SKIP why"), "{tap}");
        assert!(tap.ends_with("# 1 passed, 1 failed, 1 skipped\n"), "{tap}");

        let mut out = Vec::new();
        run_all(&tests, Format::Json, &mut out).unwrap();
        let json = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = json.lines().collect();
        assert_eq!(lines.len(), 4);
        let v: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(v[0]["name"], "A/eth68");
        assert_eq!(v[0]["result"], "pass");
        assert!(v[0]["message"].is_null());
        assert_eq!(v[1]["result"], "fail");
        assert_eq!(v[1]["message"], "x \"y\"", "{json}");
        assert_eq!(v[2]["message"], "why");
        assert_eq!(v[3]["summary"], "1 passed, 1 failed, 1 skipped");
        assert_eq!(
            (v[3]["passed"].as_u64(), v[3]["failed"].as_u64()),
            (Some(1), Some(1))
        );
    }

    #[test]
    fn the_filter_matches_anywhere_in_the_name() {
        let tests = vec![
            test("Status/eth68", 1, || Ok(())),
            test("Status/eth69", 1, || Ok(())),
            test("GetBlockHeaders/eth69", 1, || Ok(())),
        ];
        let re = regex_lite::Regex::new("eth69").unwrap();
        let names: Vec<String> = select(tests, Some(&re))
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["Status/eth69", "GetBlockHeaders/eth69"]);
    }
}
