//! Solana-CLI habits: `~/.config/solana/cli/config.yml` for the RPC URL,
//! keypair and commitment, overridden by `-u/--url`, `-k/--keypair` and
//! `--commitment`; cluster monikers; Solana JSON keypair files.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use solana_commitment_config::{CommitmentConfig, CommitmentLevel};
use solana_keypair::Keypair;

/// The keys of the Solana CLI config this client reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolanaConfig {
    pub json_rpc_url: Option<String>,
    pub keypair_path: Option<String>,
    pub commitment: Option<String>,
}

/// Parse the Solana CLI config: a flat YAML mapping (`key: value`, values
/// optionally quoted). Nested mappings such as `address_labels` are skipped.
pub fn parse_solana_config(text: &str) -> Result<SolanaConfig, String> {
    let mut c = SolanaConfig::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t == "---" || t == "..." {
            continue;
        }
        if line.starts_with([' ', '\t']) || t.starts_with("- ") {
            continue; // inside a nested mapping or list
        }
        let (key, value) = t.split_once(':').ok_or_else(|| format!("line {}: expected `key: value`, got {t:?}", i + 1))?;
        let value = unquote(value.trim()).map_err(|e| format!("line {}: {e}", i + 1))?;
        let value = (!value.is_empty() && value != "~" && value != "null").then_some(value);
        match key.trim() {
            "json_rpc_url" => c.json_rpc_url = value,
            "keypair_path" => c.keypair_path = value,
            "commitment" => c.commitment = value,
            _ => {}
        }
    }
    Ok(c)
}

fn unquote(v: &str) -> Result<String, String> {
    // A trailing comment after an unquoted value.
    let strip_comment = |s: &str| s.split(" #").next().unwrap_or(s).trim().to_string();
    if let Some(rest) = v.strip_prefix('"') {
        let end = rest.rfind('"').ok_or_else(|| format!("unterminated double quote in {v:?}"))?;
        return Ok(rest[..end].replace("\\\"", "\"").replace("\\\\", "\\"));
    }
    if let Some(rest) = v.strip_prefix('\'') {
        let end = rest.rfind('\'').ok_or_else(|| format!("unterminated single quote in {v:?}"))?;
        return Ok(rest[..end].replace("''", "'"));
    }
    Ok(strip_comment(v))
}

/// `~/.config/solana/cli/config.yml`.
pub fn default_config_path(home: &Path) -> PathBuf {
    home.join(".config/solana/cli/config.yml")
}

/// Read the config at `path`. A missing file is only an error when the user
/// named it (`explicit`); Solana's defaults apply otherwise.
pub fn load_solana_config(path: &Path, explicit: bool) -> Result<SolanaConfig> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_solana_config(&text).map_err(|e| anyhow!("config file {} is not a valid Solana CLI config: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(SolanaConfig::default()),
        Err(e) => Err(anyhow!("cannot read config file {}: {e}", path.display())),
    }
}

/// Expand a cluster moniker (`localhost`/`l`, `devnet`/`d`, `testnet`/`t`,
/// `mainnet-beta`/`m`) or check a URL.
pub fn resolve_url(s: &str) -> Result<String> {
    let t = s.trim();
    Ok(match t {
        "localhost" | "l" => "http://localhost:8899".to_string(),
        "devnet" | "d" => "https://api.devnet.solana.com".to_string(),
        "testnet" | "t" => "https://api.testnet.solana.com".to_string(),
        "mainnet-beta" | "m" => "https://api.mainnet-beta.solana.com".to_string(),
        u if (u.starts_with("http://") || u.starts_with("https://")) && u.len() > "https://".len() => u.to_string(),
        other => bail!("invalid --url {other:?}: expected localhost, devnet, testnet, mainnet-beta (or l, d, t, m) or an http(s):// URL"),
    })
}

pub fn parse_commitment(s: &str) -> Result<CommitmentConfig> {
    let level = match s.trim() {
        "processed" | "recent" => CommitmentLevel::Processed,
        "confirmed" | "single" | "singleGossip" => CommitmentLevel::Confirmed,
        "finalized" | "max" | "root" => CommitmentLevel::Finalized,
        other => bail!("invalid commitment {other:?}: expected processed, confirmed or finalized"),
    };
    Ok(CommitmentConfig { commitment: level })
}

fn expand_home(p: &str, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(p),
    }
}

/// Read a Solana JSON keypair file (`[12,34,…]`, 64 bytes), with an error
/// that names the file and says what to do.
pub fn load_keypair(path: &Path) -> Result<Keypair> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            anyhow!("keypair file {} not found (create one with `solana-keygen new -o {}` or pass -k/--keypair)", path.display(), path.display())
        }
        _ => anyhow!("cannot read keypair file {}: {e}", path.display()),
    })?;
    solana_keypair::read_keypair(&mut text.as_bytes()).map_err(|e| anyhow!("keypair file {} is not a Solana JSON keypair (64 numbers in brackets): {e}", path.display()))
}

/// The endpoint, keypair and commitment a command runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub url: String,
    pub keypair_path: PathBuf,
    pub commitment: CommitmentConfig,
}

/// Resolve the settings: flags first, then the config file, then Solana's
/// defaults (mainnet-beta, `~/.config/solana/id.json`, confirmed).
pub fn resolve_settings(config_path: Option<&Path>, url: Option<&str>, keypair: Option<&Path>, commitment: Option<&str>, home: Option<&Path>) -> Result<Settings> {
    let cfg = match (config_path, home) {
        (Some(p), _) => load_solana_config(p, true)?,
        (None, Some(h)) => load_solana_config(&default_config_path(h), false)?,
        (None, None) => SolanaConfig::default(),
    };
    let url = resolve_url(url.or(cfg.json_rpc_url.as_deref()).unwrap_or("mainnet-beta")).context("RPC URL")?;
    let keypair_path = match (keypair, &cfg.keypair_path, home) {
        (Some(k), _, _) => k.to_path_buf(),
        (None, Some(k), _) => expand_home(k, home),
        (None, None, Some(h)) => h.join(".config/solana/id.json"),
        (None, None, None) => PathBuf::from("id.json"),
    };
    let commitment = parse_commitment(commitment.or(cfg.commitment.as_deref()).unwrap_or("confirmed"))?;
    Ok(Settings { url, keypair_path, commitment })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_expand() {
        let expanded = [
            ("localhost", "http://localhost:8899"),
            ("l", "http://localhost:8899"),
            ("devnet", "https://api.devnet.solana.com"),
            ("d", "https://api.devnet.solana.com"),
            ("mainnet-beta", "https://api.mainnet-beta.solana.com"),
            ("m", "https://api.mainnet-beta.solana.com"),
            ("t", "https://api.testnet.solana.com"),
            ("http://127.0.0.1:8899", "http://127.0.0.1:8899"),
            ("https://rpc.example.com/key", "https://rpc.example.com/key"),
        ];
        for (given, url) in expanded {
            assert_eq!(resolve_url(given).unwrap(), url);
        }
        let e = resolve_url("mainnet").unwrap_err().to_string();
        assert!(e.contains("invalid --url \"mainnet\""), "{e}");
        assert!(resolve_url("ftp://x").is_err());
        assert!(resolve_url("http://").is_err());
    }

    #[test]
    fn parses_the_solana_cli_config() {
        let text = "---\njson_rpc_url: \"https://api.devnet.solana.com\"\nwebsocket_url: \"\"\nkeypair_path: /root/.config/solana/id.json\naddress_labels:\n  \"11111111111111111111111111111111\": System Program\ncommitment: confirmed\n";
        let c = parse_solana_config(text).unwrap();
        assert_eq!(c.json_rpc_url.as_deref(), Some("https://api.devnet.solana.com"));
        assert_eq!(c.keypair_path.as_deref(), Some("/root/.config/solana/id.json"));
        assert_eq!(c.commitment.as_deref(), Some("confirmed"));
        assert!(parse_solana_config("json_rpc_url 'x'\n").unwrap_err().contains("line 1"));
        assert_eq!(parse_solana_config("keypair_path: 'it''s.json' # mine\n").unwrap().keypair_path.as_deref(), Some("it's.json"));
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, "json_rpc_url: http://10.0.0.1:8899\nkeypair_path: ~/k.json\ncommitment: finalized\n").unwrap();
        let s = resolve_settings(Some(&cfg), None, None, None, Some(Path::new("/home/me"))).unwrap();
        assert_eq!(s.url, "http://10.0.0.1:8899");
        assert_eq!(s.keypair_path, PathBuf::from("/home/me/k.json"));
        assert_eq!(s.commitment, CommitmentConfig::finalized());
        let s = resolve_settings(Some(&cfg), Some("d"), Some(Path::new("/tmp/a.json")), Some("processed"), None).unwrap();
        assert_eq!(s.url, "https://api.devnet.solana.com");
        assert_eq!(s.keypair_path, PathBuf::from("/tmp/a.json"));
        assert_eq!(s.commitment, CommitmentConfig::processed());
        // No config at the default place: Solana's defaults.
        let s = resolve_settings(None, None, None, None, Some(dir.path())).unwrap();
        assert_eq!(s.url, "https://api.mainnet-beta.solana.com");
        assert_eq!(s.keypair_path, dir.path().join(".config/solana/id.json"));
        // A named config that is missing or unreadable is an error.
        let e = resolve_settings(Some(&dir.path().join("nope.yml")), None, None, None, None).unwrap_err().to_string();
        assert!(e.contains("cannot read config file") && e.contains("nope.yml"), "{e}");
        std::fs::write(&cfg, "json_rpc_url: 'unterminated\n").unwrap();
        let e = resolve_settings(Some(&cfg), None, None, None, None).unwrap_err().to_string();
        assert!(e.contains("not a valid Solana CLI config"), "{e}");
        assert!(resolve_settings(None, None, None, Some("fast"), None).unwrap_err().to_string().contains("invalid commitment"));
    }

    #[test]
    fn keypair_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let e = load_keypair(&missing).unwrap_err().to_string();
        assert!(e.contains("keypair file") && e.contains("not found"), "{e}");
        assert!(!e.contains('\n'));
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "[1,2,3]").unwrap();
        assert!(load_keypair(&bad).unwrap_err().to_string().contains("not a Solana JSON keypair"));
        let good = dir.path().join("good.json");
        let k = Keypair::new();
        std::fs::write(&good, format!("{:?}", k.to_bytes().to_vec())).unwrap();
        use solana_signer::Signer;
        assert_eq!(load_keypair(&good).unwrap().pubkey(), k.pubkey());
    }
}
