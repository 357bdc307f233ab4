//! `lt demo` and `lt replay` as a user runs them: the committed price history
//! (never anything outside the repository), quiet stderr, and one-line errors
//! with no partial output for a missing, empty or malformed price file.

use std::path::Path;

use assert_cmd::Command;

/// `lt` run from an empty directory (no `data/`, no `../shared` nearby) with
/// no `RUST_LOG`, as a newcomer's shell would have it.
fn lt(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("lt").expect("lt binary");
    c.current_dir(dir).env_remove("RUST_LOG").env("HOME", dir);
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_demo_runs_on_the_committed_btc_history_with_real_dates_and_a_quiet_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = lt(dir.path()).args(["demo"]).output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stderr:\n{stderr}");
    assert!(stderr.lines().count() < 20, "{} lines on stderr:\n{stderr}", stderr.lines().count());
    assert!(!stderr.contains("DEBUG") && !stderr.contains("INFO") && !stderr.contains("Program log"), "{stderr}");
    assert!(stdout.contains("price path: data/Binance_BTCUSDT_d.csv (committed)"), "{stdout}");
    assert!(stdout.contains("days from 2017-08-17"), "{stdout}");
    // Binance's first day: open 4,261.48; its close 4,285.08 is the first daily rebalance price.
    assert!(stdout.contains("holder minted 10,000 USDC of each at $4261.48"), "{stdout}");
    let first_row = stdout.lines().find(|l| l.starts_with("2017-")).expect("a rebalance row");
    assert!(first_row.starts_with("2017-08-18") && first_row.contains("4285.08"), "{first_row}");
    assert!(!stdout.contains("synthetic") && !stdout.contains("built-in"), "{stdout}");
    // A pull oracle market, and every user flow as a request then its execution.
    assert!(stdout.contains("(pull oracle, pool 1,000,000 USDC)"), "{stdout}");
    let steps: Vec<&str> = stdout.lines().filter(|l| l.contains("request (nonce")).collect();
    assert_eq!(steps.len(), 5, "two mints, two redeems, the LP's withdrawal: {steps:?}");
    for s in &steps {
        assert!(s.contains("executed by the keeper, filled at $") && s.ends_with("executor fee 50000 lamports"), "{s}");
    }
    assert!(steps[0].contains("mint 10,000 USDC of the 3x long") && steps[0].contains("price time request + 2 s") && steps[0].contains("filled at $4261.48"), "{}", steps[0]);
    assert!(steps[4].contains("LP withdraws everything") && steps[4].contains("price time request + 3600 s"), "{}", steps[4]);
    assert!(stdout.contains("250000 lamports of executor fees for 5 executions"), "{stdout}");
}

fn assert_one_line_failure(out: &std::process::Output, want: &str) {
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "succeeded: {stderr}");
    assert!(out.stdout.is_empty(), "partial report on stdout: {}", text(&out.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "expected one line: {stderr}");
    assert_eq!(stderr.trim_end(), want);
}

/// A missing, an empty and a malformed price file, in `dir`.
fn bad_files(dir: &Path) -> [(std::path::PathBuf, String); 3] {
    let missing = dir.join("missing.csv");
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "timestamp,price\n1700000000,100.5\n1700003600,1O1\n").unwrap();
    [
        (missing.clone(), format!("error: {}: cannot read: No such file or directory (os error 2)", missing.display())),
        (empty.clone(), format!("error: {}: line 1: empty file", empty.display())),
        (bad.clone(), format!("error: {}: line 3: price: not a decimal number: \"1O1\"", bad.display())),
    ]
}

#[test]
fn the_demo_refuses_a_missing_empty_or_malformed_price_file_in_one_line_naming_path_and_row() {
    let dir = tempfile::tempdir().unwrap();
    for (path, want) in bad_files(dir.path()) {
        let out = lt(dir.path()).args(["demo", "--csv"]).arg(&path).output().unwrap();
        assert_one_line_failure(&out, &want);
    }
}

#[test]
fn the_replay_refuses_a_bad_price_file_before_running_or_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "timestamp,price\n1700000000,100\n1700086400,101\n1700172800,99\n").unwrap();
    let out_dir = dir.path().join("out");
    let report = dir.path().join("report.md");
    for (path, want) in bad_files(dir.path()) {
        // The good file comes first: nothing of it may be run or written either.
        let out = lt(dir.path()).args(["replay", "--csv"]).arg(&good).arg("--csv").arg(&path).arg("--out").arg(&out_dir).arg("--report").arg(&report).output().unwrap();
        assert_one_line_failure(&out, &want);
        assert!(!out_dir.exists(), "{} was written", out_dir.display());
        assert!(!report.exists() && !dir.path().join("plots").exists(), "a partial report was written");
    }
}
