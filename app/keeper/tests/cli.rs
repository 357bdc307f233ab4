//! `lt-keeper` argument errors: one line on stderr, non-zero exit, no panic.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lt-keeper")).args(args).env("RUST_LOG", "off").output().expect("run lt-keeper");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_one_line_error(stderr: &str, needle: &str) {
    assert!(!stderr.contains("panicked"), "panicked:\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(needle), "{stderr}");
}

#[test]
fn a_missing_keypair_file_is_one_line_and_a_non_zero_exit() {
    let (ok, err) = run(&["--url", "localhost", "--keypair", "/nonexistent/keeper.json", "--once"]);
    assert!(!ok);
    assert_one_line_error(&err, "keypair file /nonexistent/keeper.json not found");
}

#[test]
fn an_unreadable_keypair_file_is_one_line_and_a_non_zero_exit() {
    let path = std::env::temp_dir().join(format!("lt-keeper-cli-{}.json", std::process::id()));
    std::fs::write(&path, "{\"not\": \"a keypair\"}").unwrap();
    let (ok, err) = run(&["--keypair", path.to_str().unwrap(), "--once"]);
    std::fs::remove_file(&path).ok();
    assert!(!ok);
    assert_one_line_error(&err, "is not a Solana JSON keypair");
}

#[test]
fn a_bad_url_is_one_line_and_a_non_zero_exit() {
    let (ok, err) = run(&["--url", "ftp://example.com", "--once"]);
    assert!(!ok);
    assert_one_line_error(&err, "bad --url");
    let (ok, err) = run(&["--url", "devnett", "--once"]);
    assert!(!ok);
    assert_one_line_error(&err, "bad --url \"devnett\"");
}

#[test]
fn an_unreachable_endpoint_is_one_line_and_a_non_zero_exit() {
    let path = std::env::temp_dir().join(format!("lt-keeper-cli-ok-{}.json", std::process::id()));
    let bytes: Vec<String> = solana_keypair::Keypair::new().to_bytes().iter().map(|b| b.to_string()).collect();
    std::fs::write(&path, format!("[{}]", bytes.join(","))).unwrap();
    // Port 1 on loopback: nothing listens there.
    let (ok, err) = run(&["--url", "http://127.0.0.1:1", "--keypair", path.to_str().unwrap(), "--once"]);
    std::fs::remove_file(&path).ok();
    assert!(!ok);
    assert_one_line_error(&err, "RPC http://127.0.0.1:1");
}

#[test]
fn json_logs_are_accepted_and_an_unknown_log_format_is_refused_before_any_network_call() {
    // A bad value is refused by the argument parser (clap's own multi-line usage error), non-zero.
    let out = Command::new(env!("CARGO_BIN_EXE_lt-keeper")).args(["--log-format", "xml", "--once"]).output().expect("run lt-keeper");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'xml' for '--log-format"));
    // With JSON logs, errors are still the one plain line a user reads.
    let (ok, err) = run(&["--log-format", "json", "--url", "http://127.0.0.1:1", "--keypair", "/nonexistent/k.json", "--once"]);
    assert!(!ok);
    assert_one_line_error(&err, "keypair file /nonexistent/k.json not found");
}
