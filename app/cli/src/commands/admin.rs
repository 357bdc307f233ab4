//! `config init|show|propose-admin|accept-admin`, `pause`, `unpause`.

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Result};
use leveraged_token::state::Config;
use leveraged_token_sdk::chain::Chain;
use leveraged_token_sdk::ix;

use super::tx_fields;
use crate::args::{pause_names, PauseScope};
use crate::client::{decode_program_account, Client};
use crate::report::Report;

fn config_fields(r: &mut Report, key: Pubkey, c: &Config) {
    r.push("config", key);
    r.push("admin", c.admin);
    r.push("pending_admin", c.has_pending_admin().then_some(c.pending_admin));
    r.push("treasury", c.treasury);
    r.push("paused", pause_names(c.pause_flags));
    r.push("market_count", c.market_count);
}

pub async fn config_init<C: Chain>(c: &mut Client<C>, treasury: Option<Pubkey>) -> Result<Report> {
    let admin = c.signer_key()?;
    let key = leveraged_token::pda::config().0;
    if let Some(acc) = c.fetch_one(key).await? {
        let existing: Config = decode_program_account(&key, Some(&acc), "config", &c.endpoint())?;
        bail!("the config {key} already exists (admin {}, treasury {})", existing.admin, existing.treasury);
    }
    let treasury = treasury.unwrap_or(admin);
    let e = c.execute(vec![ix::initialize_config(admin, treasury)], &[]).await?;
    let mut r = Report::new("config init").field("config", key).field("admin", admin).field("treasury", treasury);
    tx_fields(&mut r, &e);
    Ok(r)
}

pub async fn config_show<C: Chain>(c: &mut Client<C>) -> Result<Report> {
    let cfg = c.config().await?;
    let mut r = Report::new("config");
    config_fields(&mut r, leveraged_token::pda::config().0, &cfg);
    Ok(r)
}

pub async fn propose_admin<C: Chain>(c: &mut Client<C>, new_admin: Pubkey) -> Result<Report> {
    let admin = c.signer_key()?;
    let cfg = c.config().await?;
    if cfg.admin != admin {
        bail!("the signer {admin} is not the admin {} of the config", cfg.admin);
    }
    let e = c.execute(vec![ix::propose_admin(admin, new_admin)], &[]).await?;
    let mut r = Report::new("config propose-admin").field("admin", admin).field("pending_admin", new_admin);
    if new_admin == Pubkey::default() {
        r.push("note", "the default address cancels a pending proposal");
    }
    tx_fields(&mut r, &e);
    Ok(r)
}

pub async fn accept_admin<C: Chain>(c: &mut Client<C>) -> Result<Report> {
    let me = c.signer_key()?;
    let cfg = c.config().await?;
    if !cfg.has_pending_admin() {
        bail!("no admin transfer is pending (admin is {})", cfg.admin);
    }
    if cfg.pending_admin != me {
        bail!("the signer {me} is not the pending admin {}", cfg.pending_admin);
    }
    let e = c.execute(vec![ix::accept_admin(me)], &[]).await?;
    let mut r = Report::new("config accept-admin").field("old_admin", cfg.admin).field("admin", me);
    tx_fields(&mut r, &e);
    Ok(r)
}

/// Set (`paused`) or clear flags at a scope, and report the flags after.
pub async fn set_pause<C: Chain>(c: &mut Client<C>, scope: &PauseScope, paused: bool) -> Result<Report> {
    let admin = c.signer_key()?;
    let (ix, scope_name, target, mask) = match *scope {
        PauseScope::Global { flags } => (ix::set_global_pause(admin, flags.0, paused), "global", leveraged_token::pda::config().0, flags.0),
        PauseScope::Market { market, flags } => {
            c.market(market).await?;
            (ix::set_market_pause(admin, market, flags.0, paused), "market", market, flags.0)
        }
        PauseScope::Token { token, flags } => {
            c.token(token).await?;
            (ix::set_token_pause(admin, token, flags.0, paused), "token", token, flags.0)
        }
    };
    let e = c.execute(vec![ix], &[]).await?;
    let title = if paused { "pause" } else { "unpause" };
    let mut r = Report::new(title).field("scope", scope_name).field("target", target).field(if paused { "set" } else { "cleared" }, pause_names(mask));
    if !e.simulated {
        let now = match *scope {
            PauseScope::Global { .. } => c.config().await?.pause_flags,
            PauseScope::Market { market, .. } => c.market(market).await?.pause_flags,
            PauseScope::Token { token, .. } => c.token(token).await?.pause_flags,
        };
        r.push("paused_now", pause_names(now));
    }
    tx_fields(&mut r, &e);
    Ok(r)
}
