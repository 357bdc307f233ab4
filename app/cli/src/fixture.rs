//! `lt oracle-fixture`: a Pyth account as JSON in the format
//! `solana account --output json` prints and `solana-test-validator --account
//! <ADDRESS> <FILE>` loads.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context};
use base64::Engine;
use leveraged_token::constants::{PYTH_LEGACY_DEVNET, PYTH_RECEIVER};
use leveraged_token::oracle::VerificationLevel;
use leveraged_token_sdk::oracle_fixture::{legacy_price_account, pull_price_account};
use leveraged_token_sdk::prices::parse_decimal_e8;

#[derive(clap::Args)]
pub struct FixtureArgs {
    /// `legacy` (Pyth price account) or `pull` (PriceUpdateV2).
    #[arg(long, default_value = "legacy")]
    kind: String,
    /// Price in quote units, e.g. 65000.5 (parsed exactly).
    #[arg(long)]
    price: String,
    /// Confidence in quote units (default: 0.05 % of price).
    #[arg(long)]
    conf: Option<String>,
    /// Address the account will have (default: a new unique key).
    #[arg(long)]
    address: Option<Pubkey>,
    /// Pull only: feed id as 64 hex characters.
    #[arg(long)]
    feed_id: Option<String>,
    /// Legacy: publish slot (a validator starts near 0); pull: unix time (default now).
    #[arg(long)]
    published: Option<i64>,
    /// Output file (default: stdout).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

fn hex32(s: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.trim_start_matches("0x");
    if s.len() != 64 {
        bail!("feed id must be 64 hex characters, got {}", s.len());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).with_context(|| format!("feed id: bad hex at {}", 2 * i))?;
    }
    Ok(out)
}

pub fn run(a: FixtureArgs) -> anyhow::Result<()> {
    let price = parse_decimal_e8(&a.price).map_err(anyhow::Error::msg).context("--price")?;
    let conf = match &a.conf {
        Some(c) => parse_decimal_e8(c).map_err(anyhow::Error::msg).context("--conf")? as u64,
        None => (price / 2_000) as u64,
    };
    let address = a.address.unwrap_or_else(Pubkey::new_unique);
    let (data, owner) = match a.kind.as_str() {
        "legacy" => {
            let slot = a.published.unwrap_or(0).max(0) as u64;
            (legacy_price_account(price, conf, -8, slot, pyth_sdk_solana::state::PriceStatus::Trading), PYTH_LEGACY_DEVNET)
        }
        "pull" => {
            let feed = hex32(a.feed_id.as_deref().context("--feed-id is required for --kind pull")?)?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
            (pull_price_account(feed, price, conf, -8, a.published.unwrap_or(now), VerificationLevel::Full, 0), PYTH_RECEIVER)
        }
        other => bail!("--kind must be legacy or pull, got {other:?}"),
    };
    let json = format!(
        "{{\n  \"pubkey\": \"{address}\",\n  \"account\": {{\n    \"lamports\": 1000000000,\n    \"data\": [\"{}\", \"base64\"],\n    \"owner\": \"{owner}\",\n    \"executable\": false,\n    \"rentEpoch\": 0,\n    \"space\": {}\n  }}\n}}\n",
        base64::engine::general_purpose::STANDARD.encode(&data),
        data.len()
    );
    match a.out {
        Some(p) => std::fs::write(&p, json).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{json}"),
    }
    Ok(())
}
