//! The built `lt` binary: configuration and keypair problems are one clear
//! line on stderr and a non-zero exit, before anything touches the network;
//! the request commands' flags and needs.

use assert_cmd::Command;

fn lt(home: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("lt").expect("lt binary");
    // A HOME without a Solana config, so the machine's own config is not read.
    c.env("HOME", home);
    c
}

fn one_line(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr).to_string();
    assert_eq!(s.trim_end().lines().count(), 1, "expected one line, got {s:?}");
    s.trim_end().to_string()
}

#[test]
fn missing_keypair_file_is_one_line_and_a_failure() {
    let home = tempfile::tempdir().unwrap();
    let token = "C9uyyqiLLhH1kmGtrcyCWr5vJGWWSkzPB9yEUvZ655nv";
    let out = lt(home.path()).args(["-u", "http://127.0.0.1:9", "-k", "/nonexistent/id.json", "mint", token, "1"]).output().unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let line = one_line(&out.stderr);
    assert_eq!(line, "error: keypair file /nonexistent/id.json not found (create one with `solana-keygen new -o /nonexistent/id.json` or pass -k/--keypair)");
}

#[test]
fn default_keypair_from_home_is_named_when_missing() {
    let home = tempfile::tempdir().unwrap();
    let out = lt(home.path()).args(["--url", "localhost", "config", "init"]).output().unwrap();
    assert!(!out.status.success());
    let line = one_line(&out.stderr);
    assert!(line.contains(&format!("keypair file {}/.config/solana/id.json not found", home.path().display())), "{line}");
}

#[test]
fn unreadable_config_and_bad_url_are_one_line() {
    let home = tempfile::tempdir().unwrap();
    let out = lt(home.path()).args(["-C", "/nonexistent/config.yml", "list"]).output().unwrap();
    assert!(!out.status.success());
    let line = one_line(&out.stderr);
    assert!(line.starts_with("error: cannot read config file /nonexistent/config.yml"), "{line}");

    let cfg = home.path().join("bad.yml");
    std::fs::write(&cfg, "json_rpc_url: \"unterminated\n").unwrap();
    let out = lt(home.path()).args(["-C", cfg.to_str().unwrap(), "list"]).output().unwrap();
    assert!(!out.status.success());
    assert!(one_line(&out.stderr).contains("is not a valid Solana CLI config"));

    let out = lt(home.path()).args(["-u", "mainnet", "list"]).output().unwrap();
    assert!(!out.status.success());
    assert!(one_line(&out.stderr).contains("invalid --url \"mainnet\""));
}

#[test]
fn unreachable_rpc_names_the_url() {
    let home = tempfile::tempdir().unwrap();
    let out = lt(home.path()).args(["-u", "http://127.0.0.1:9", "list"]).output().unwrap();
    assert!(!out.status.success());
    let s = String::from_utf8_lossy(&out.stderr);
    assert!(s.contains("RPC http://127.0.0.1:9") && s.contains("is the validator running"), "{s}");
}

#[test]
fn request_commands_say_what_they_need_before_touching_the_network() {
    let home = tempfile::tempdir().unwrap();
    let request = "C9uyyqiLLhH1kmGtrcyCWr5vJGWWSkzPB9yEUvZ655nv";
    // Executing or cancelling signs: the missing keypair is named first.
    for cmd in ["execute", "cancel"] {
        let out = lt(home.path()).args(["-u", "http://127.0.0.1:9", "-k", "/nonexistent/id.json", cmd, request]).output().unwrap();
        assert!(!out.status.success());
        assert!(one_line(&out.stderr).starts_with("error: keypair file /nonexistent/id.json not found"), "{cmd}");
    }
    // Listing requests reads only: it gets as far as the RPC, which it names.
    let out = lt(home.path()).args(["-u", "http://127.0.0.1:9", "-k", "/nonexistent/id.json", "requests", "--owner", request]).output().unwrap();
    assert!(!out.status.success());
    let s = String::from_utf8_lossy(&out.stderr);
    assert!(s.contains("RPC http://127.0.0.1:9") && !s.contains("keypair"), "{s}");
    // An owner that is not an address is refused by the parser.
    let out = lt(home.path()).args(["requests", "--owner", "nobody"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'nobody'"));
}

#[test]
fn mint_redeem_and_liquidity_help_documents_the_request_flags() {
    let home = tempfile::tempdir().unwrap();
    for args in [&["mint", "--help"][..], &["redeem", "--help"], &["liquidity", "deposit", "--help"], &["liquidity", "withdraw", "--help"]] {
        let out = lt(home.path()).args(args).output().unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--no-wait") && help.contains("--nonce"), "{args:?}: {help}");
    }
}
