//! Argument helpers for `lt-keeper`: cluster URL monikers, keypair files,
//! commitment levels and pull-oracle overrides, each failing with one clear
//! line.

use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;

/// `localhost`, `devnet`, `testnet`, `mainnet-beta` (or their first letter),
/// or an `http(s)://` URL.
pub fn resolve_url(s: &str) -> Result<String, String> {
    let moniker = match s {
        "localhost" | "l" => Some("http://127.0.0.1:8899"),
        "devnet" | "d" => Some("https://api.devnet.solana.com"),
        "testnet" | "t" => Some("https://api.testnet.solana.com"),
        "mainnet-beta" | "mainnet" | "m" => Some("https://api.mainnet-beta.solana.com"),
        _ => None,
    };
    if let Some(m) = moniker {
        return Ok(m.to_string());
    }
    match url::Url::parse(s) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some_and(|h| !h.is_empty()) => Ok(s.to_string()),
        Ok(u) => Err(format!("bad --url {s:?}: scheme {:?} is not http or https (or use localhost, devnet, testnet, mainnet-beta)", u.scheme())),
        Err(e) => Err(format!("bad --url {s:?}: {e} (expected localhost, devnet, testnet, mainnet-beta or an http(s):// URL)")),
    }
}

pub fn parse_commitment(s: &str) -> Result<CommitmentConfig, String> {
    match s {
        "processed" => Ok(CommitmentConfig::processed()),
        "confirmed" => Ok(CommitmentConfig::confirmed()),
        "finalized" => Ok(CommitmentConfig::finalized()),
        _ => Err(format!("bad --commitment {s:?}: expected processed, confirmed or finalized")),
    }
}

/// `~/.config/solana/id.json`, the Solana CLI's default keypair.
pub fn default_keypair_path() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".config/solana/id.json")
}

/// Expand a leading `~/`.
pub fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => p.to_path_buf(),
    }
}

/// Read a Solana JSON keypair file (an array of 64 bytes).
pub fn load_keypair(path: &Path) -> Result<Keypair, String> {
    let path = expand_home(path);
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("keypair file {} not found (create one with `solana-keygen new` or pass --keypair)", path.display()),
        _ => format!("cannot read keypair file {}: {e}", path.display()),
    })?;
    let bytes: Vec<u8> = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or(())
        .and_then(|t| t.split(',').map(|n| n.trim().parse::<u8>().map_err(|_| ())).collect::<Result<Vec<u8>, ()>>())
        .map_err(|_| format!("keypair file {} is not a Solana JSON keypair (an array of 64 numbers 0-255)", path.display()))?;
    if bytes.len() != 64 {
        return Err(format!("keypair file {} holds {} bytes, expected 64", path.display(), bytes.len()));
    }
    Keypair::try_from(bytes.as_slice()).map_err(|e| format!("keypair file {} is not a valid ed25519 keypair: {e}", path.display()))
}

/// `FEED_ID_HEX=ACCOUNT`: read the pull feed `FEED_ID_HEX` (64 hex digits,
/// optional 0x) from `ACCOUNT` instead of the sponsored feed account.
pub fn parse_pull_oracle(s: &str) -> Result<([u8; 32], Pubkey), String> {
    let (feed, account) = s.split_once('=').ok_or_else(|| format!("bad --pull-oracle {s:?}: expected FEED_ID_HEX=ACCOUNT"))?;
    let feed = feed.trim_start_matches("0x");
    if feed.len() != 64 || !feed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("bad --pull-oracle {s:?}: the feed id must be 64 hex digits"));
    }
    let mut id = [0u8; 32];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&feed[2 * i..2 * i + 2], 16).expect("hex checked");
    }
    let account: Pubkey = account.parse().map_err(|_| format!("bad --pull-oracle {s:?}: {account:?} is not a base58 address"))?;
    Ok((id, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_and_urls_resolve_and_other_schemes_are_refused() {
        assert_eq!(resolve_url("devnet").unwrap(), "https://api.devnet.solana.com");
        assert_eq!(resolve_url("localhost").unwrap(), "http://127.0.0.1:8899");
        assert_eq!(resolve_url("https://rpc.example.com/x").unwrap(), "https://rpc.example.com/x");
        assert!(resolve_url("ftp://x").unwrap_err().contains("not http"));
        assert!(resolve_url("devnett").unwrap_err().contains("bad --url"));
    }

    #[test]
    fn keypair_errors_are_one_line() {
        let e = load_keypair(Path::new("/nonexistent/id.json")).unwrap_err();
        assert!(e.contains("not found") && !e.contains('\n'), "{e}");
        let dir = std::env::temp_dir().join(format!("lt-keeper-kp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "not json").unwrap();
        assert!(load_keypair(&bad).unwrap_err().contains("not a Solana JSON keypair"));
        let good = dir.join("good.json");
        let kp = Keypair::new();
        std::fs::write(&good, format!("{:?}", kp.to_bytes().to_vec())).unwrap();
        assert_eq!(load_keypair(&good).unwrap().to_bytes(), kp.to_bytes());
    }

    #[test]
    fn pull_oracle_override_parses_feed_and_account() {
        let acc = Pubkey::new_unique();
        let (id, a) = parse_pull_oracle(&format!("0x{}={acc}", "ab".repeat(32))).unwrap();
        assert_eq!((id, a), ([0xab; 32], acc));
        assert!(parse_pull_oracle("abc=def").is_err());
    }
}
