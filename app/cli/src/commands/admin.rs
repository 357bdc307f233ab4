//! `config init|show|propose-admin|accept-admin`, `pause`, `unpause`, and
//! the parameter timelock: `params show|apply|cancel` (proposals are made by
//! `market params` / `token params` with flags).

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{bail, Result};
use leveraged_token::state::{Config, ParamChange, ParamProposal};
use leveraged_token_sdk::chain::Chain;
use leveraged_token_sdk::deploy::{diff_market_params, diff_token_params};
use leveraged_token_sdk::{ix, TokenKeys};

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
    r.push("param_delay_secs", c.param_delay_secs);
}

pub async fn config_init<C: Chain>(c: &mut Client<C>, treasury: Option<Pubkey>, param_delay_secs: i64) -> Result<Report> {
    let admin = c.signer_key()?;
    let key = leveraged_token::pda::config().0;
    if let Some(acc) = c.fetch_one(key).await? {
        let existing: Config = decode_program_account(&key, Some(&acc), "config", &c.endpoint())?;
        bail!("the config {key} already exists (admin {}, treasury {})", existing.admin, existing.treasury);
    }
    let treasury = treasury.unwrap_or(admin);
    let e = c.execute(vec![ix::initialize_config(admin, treasury, param_delay_secs)], &[]).await?;
    let mut r = Report::new("config init").field("config", key).field("admin", admin).field("treasury", treasury).field("param_delay_secs", param_delay_secs);
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

// --- parameter changes: propose (in `market params` / `token params`), show, apply, cancel ---

/// The pending change of `target` (a market or token), if any.
pub async fn pending_change<C: Chain>(c: &mut Client<C>, target: Pubkey) -> Result<Option<(Pubkey, ParamProposal)>> {
    let key = leveraged_token::pda::param_proposal(&target).0;
    match c.fetch_one(key).await? {
        None => Ok(None),
        Some(acc) => Ok(Some((key, decode_program_account(&key, Some(&acc), "parameter proposal", &c.endpoint())?))),
    }
}

/// Report fields of a pending change: when it is due and what it changes.
pub async fn pending_fields<C: Chain>(c: &mut Client<C>, r: &mut Report, target: Pubkey) -> Result<()> {
    let Some((key, p)) = pending_change(c, target).await? else {
        r.push("pending_change", "none");
        return Ok(());
    };
    let now = c.clock().await?.unix_timestamp;
    r.push("pending_proposal", key);
    r.push("proposed_at", p.proposed_at);
    r.push("applicable_at", p.eta);
    r.push("due_in_secs", p.due_in_secs(now));
    let diff = match p.change {
        ParamChange::Market(new) => diff_market_params(&c.market(target).await?.params, &new),
        ParamChange::Token(new) => diff_token_params(&c.token(target).await?.params, &new),
    };
    for d in diff {
        r.push(&format!("pending.{}", d.field), format!("{} -> {}", d.old, d.new));
    }
    Ok(())
}

/// Propose `change` for `target` (admin); the report says when it applies.
pub async fn propose_params<C: Chain>(c: &mut Client<C>, r: &mut Report, target: Pubkey, ix: Instruction) -> Result<()> {
    let admin = c.signer_key()?;
    let cfg = c.config().await?;
    if cfg.admin != admin {
        bail!("the signer {admin} is not the admin {} of the config", cfg.admin);
    }
    if let Some((key, p)) = pending_change(c, target).await? {
        bail!("a change of {target} is already pending ({key}, applicable at {}): apply it (`lt params apply {target}`) or cancel it (`lt params cancel {target}`) first", p.eta);
    }
    let e = c.execute(vec![ix], &[]).await?;
    let now = c.clock().await?.unix_timestamp;
    r.push("proposed", "yes: applies after the config's delay, by anyone (`lt params apply`)");
    r.push("param_delay_secs", cfg.param_delay_secs);
    r.push("applicable_at", now + cfg.param_delay_secs);
    tx_fields(r, &e);
    Ok(())
}

/// `lt params show <target>`: the current pending change of a market or token.
pub async fn params_show<C: Chain>(c: &mut Client<C>, target: Pubkey) -> Result<Report> {
    let mut r = Report::new("params pending").field("target", target);
    pending_fields(c, &mut r, target).await?;
    Ok(r)
}

/// `lt params apply <target>`: apply a due change (anyone; a token settles first).
pub async fn params_apply<C: Chain>(c: &mut Client<C>, target: Pubkey, oracle: Option<Pubkey>) -> Result<Report> {
    c.signer_key()?;
    let Some((key, p)) = pending_change(c, target).await? else { bail!("no parameter change of {target} is pending") };
    let now = c.clock().await?.unix_timestamp;
    if !p.is_due(now) {
        bail!("the change of {target} is not due: applicable at {} (in {} s)", p.eta, p.due_in_secs(now));
    }
    let ix = match p.change {
        ParamChange::Market(_) => ix::apply_market_params(target, p.proposer),
        ParamChange::Token(_) => {
            let st = super::load_token(c, target, oracle, None).await?;
            let keys = TokenKeys::from_token(super::market_keys(&st.market, oracle)?, &st.token);
            ix::apply_token_params(&keys, p.proposer)
        }
    };
    let e = c.execute(vec![ix], &[]).await?;
    let mut r = Report::new("params apply").field("target", target).field("proposal", key);
    tx_fields(&mut r, &e);
    Ok(r)
}

/// `lt params cancel <target>`: the admin withdraws a pending change.
pub async fn params_cancel<C: Chain>(c: &mut Client<C>, target: Pubkey) -> Result<Report> {
    let admin = c.signer_key()?;
    let Some((key, p)) = pending_change(c, target).await? else { bail!("no parameter change of {target} is pending") };
    let e = c.execute(vec![ix::cancel_param_proposal(admin, target, p.proposer)], &[]).await?;
    let mut r = Report::new("params cancel").field("target", target).field("proposal", key);
    tx_fields(&mut r, &e);
    Ok(r)
}
