//! `mint`, `redeem`, `rebalance`, `collect-fees`. A mint or redeem is quoted
//! with the program's own math (sdk::decide, the share quotes) at the current
//! price (the token settled to the request's price time), so the request's
//! default minimum output protects the user, then
//! sent as a request and (unless `--no-wait`) executed at its price time
//! ([`super::requests`]).

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, bail, Result};
use leveraged_token::errors::ErrorCode;
use leveraged_token::math::shares::{quote_mint, quote_redeem};
use leveraged_token_sdk::chain::Chain;
use leveraged_token_sdk::decide::{decide, nav_per_share, settle_view, Decision};
use leveraged_token_sdk::{ix, MarketKeys, TokenKeys};

use super::requests::{price_time_slot, price_time_unix, submit, Ask};
use super::{describe, execute_creating_ata, load_token, market_keys, min_out, quote_price, spend, tx_fields, ui_price, usable_price, TokenState};
use crate::amount::{format_leverage, format_signed_fixed, format_signed_ui, format_ui_amount};
use crate::args::{MintArgs, RebalanceArgs, RedeemArgs};
use crate::client::{ata, create_ata_ix, token_amount, Client};
use crate::pace::Pace;
use crate::report::Report;
use leveraged_token::state::RequestKind;

fn math(e: leveraged_token::math::MathError) -> anyhow::Error {
    anyhow!("quote: {e:?} (the program would fail with {})", describe(ErrorCode::MathOverflow))
}

fn keys_for(st: &TokenState, oracle: Option<Pubkey>) -> Result<TokenKeys> {
    Ok(TokenKeys::from_token(market_keys(&st.market, oracle)?, &st.token))
}

/// The signer, and `token` as fetched with the signer's collateral and share accounts.
async fn signer_and_token<C: Chain>(c: &mut Client<C>, token: Pubkey, oracle: Option<Pubkey>) -> Result<(Pubkey, TokenState)> {
    let signer = c.signer_key()?;
    Ok((signer, load_token(c, token, oracle, Some(signer)).await?))
}

pub async fn mint<C: Pace>(c: &mut Client<C>, a: &MintArgs) -> Result<Report> {
    let (user, st) = signer_and_token(c, a.token, a.oracle.oracle).await?;
    let dec = st.decimals();
    let (collateral, balance) = st.user_collateral.expect("user");
    let (_, share_balance) = st.user_shares.expect("user");
    let Some(balance) = balance else {
        bail!("the signer {user} has no collateral account for mint {} (associated token account {collateral} does not exist)", st.market.collateral_mint);
    };
    let amount = spend(&a.amount, dec, balance, collateral, "collateral", "mint")?;
    if st.token.is_wiped() {
        bail!("{}", describe(ErrorCode::TokenWiped));
    }
    let mut r = Report::new("mint").field("token", a.token).field("collateral_in", st.amount(amount));
    let (at_slot, at_now) = (price_time_slot(&st.market, RequestKind::Mint, &st.clock), price_time_unix(&st.market, RequestKind::Mint, &st.clock));
    let quote = match quote_price(&st.oracle, c.simulate, a.min_out.is_some())? {
        Some(p) => {
            let s = settle_view(&st.view(), &p, at_slot, at_now).map_err(math)?;
            if s.wiped {
                bail!("{} (the price moved past the token's equity: `lt rebalance` lands the wipe)", describe(ErrorCode::TokenWiped));
            }
            let q = quote_mint(&st.token.book(s.equity, st.share_supply), p.price, p.conf, amount, st.token.params.mint_fee_bps, st.market.params.trade_fee_bps).map_err(math)?;
            r.push("price", ui_price(p.price, dec));
            r.push("nav_per_share", st.amount(u64::try_from(nav_per_share(s.equity, st.share_supply, dec).map_err(math)?).unwrap_or(u64::MAX)));
            r.push("quote_shares_out", st.amount(q.shares_out));
            r.push("quote_mint_fee", st.amount(q.mint_fee));
            r.push("quote_trade_fee", st.amount(q.trade_fee));
            r.push("position_change_base", format_signed_fixed(q.delta_base, 9, 6));
            if q.shares_out == 0 {
                bail!("{} at the current price (the execution would refund it)", describe(ErrorCode::ZeroSharesOut));
            }
            Some(q.shares_out)
        }
        None => None,
    };
    let min = min_out(a.min_out.as_ref(), dec, quote, a.slippage.slippage_bps)?;
    r.push("min_shares_out", st.amount(min));
    let ask = Ask {
        kind: RequestKind::Mint,
        market: st.market.clone(),
        token: Some(st.keys),
        amount,
        min_out: min,
        destination_missing: share_balance.is_none(),
        oracle: a.oracle.oracle,
        no_wait: a.request.no_wait,
        nonce: a.request.nonce,
    };
    submit(c, r, ask).await
}

pub async fn redeem<C: Pace>(c: &mut Client<C>, a: &RedeemArgs) -> Result<Report> {
    let (user, st) = signer_and_token(c, a.token, a.oracle.oracle).await?;
    let dec = st.decimals();
    let (_, collateral_balance) = st.user_collateral.expect("user");
    let (shares_acc, share_balance) = st.user_shares.expect("user");
    let Some(share_balance) = share_balance else {
        bail!("the signer {user} holds no shares of token {} (associated token account {shares_acc} does not exist)", a.token);
    };
    let shares = spend(&a.shares, dec, share_balance, shares_acc, "shares", "redeem")?;
    let mut r = Report::new("redeem").field("token", a.token).field("shares_in", st.amount(shares));
    let quote = if st.token.is_wiped() {
        r.push("note", "the token is wiped: redeeming burns the shares and pays 0");
        Some(0)
    } else {
        match quote_price(&st.oracle, c.simulate, a.min_out.is_some())? {
            Some(p) => {
                let s = settle_view(&st.view(), &p, price_time_slot(&st.market, RequestKind::Redeem, &st.clock), price_time_unix(&st.market, RequestKind::Redeem, &st.clock)).map_err(math)?;
                r.push("price", ui_price(p.price, dec));
                if s.wiped {
                    r.push("note", "this settlement wipes the token: redeeming pays 0");
                    Some(0)
                } else {
                    let q = quote_redeem(&st.token.book(s.equity, st.share_supply), p.price, p.conf, shares, st.token.params.redeem_fee_bps, st.market.params.trade_fee_bps).map_err(math)?;
                    r.push("nav_per_share", st.amount(u64::try_from(nav_per_share(s.equity, st.share_supply, dec).map_err(math)?).unwrap_or(u64::MAX)));
                    r.push("quote_collateral_out", st.amount(q.collateral_out));
                    r.push("quote_redeem_fee", st.amount(q.redeem_fee));
                    r.push("quote_trade_fee", st.amount(q.trade_fee));
                    r.push("position_change_base", format_signed_fixed(q.delta_base, 9, 6));
                    Some(q.collateral_out)
                }
            }
            None => None,
        }
    };
    let min = min_out(a.min_out.as_ref(), dec, quote, a.slippage.slippage_bps)?;
    r.push("min_collateral_out", st.amount(min));
    let ask = Ask {
        kind: RequestKind::Redeem,
        market: st.market.clone(),
        token: Some(st.keys),
        amount: shares,
        min_out: min,
        destination_missing: collateral_balance.is_none(),
        oracle: a.oracle.oracle,
        no_wait: a.request.no_wait,
        nonce: a.request.nonce,
    };
    submit(c, r, ask).await
}

pub async fn rebalance<C: Chain>(c: &mut Client<C>, a: &RebalanceArgs) -> Result<Report> {
    let (caller, st) = signer_and_token(c, a.token, a.oracle.oracle).await?;
    let keys = keys_for(&st, a.oracle.oracle)?;
    let dec = st.decimals();
    let (collateral, collateral_balance) = st.user_collateral.expect("user");
    let mut r = Report::new("rebalance").field("token", a.token);
    let global_pause_flags = st.config.as_ref().map_or(0, |cfg| cfg.pause_flags);
    let decision = match usable_price(&st.oracle, c.simulate)? {
        Some(p) => {
            r.push("price", ui_price(p.price, dec));
            Some(decide(&st.view(), &p, st.clock.slot, st.clock.unix_timestamp, global_pause_flags).map_err(math)?)
        }
        None => None,
    };
    let refuse = |code: ErrorCode, why: String| -> anyhow::Error { anyhow!("{}: {why} (--force sends it anyway)", describe(code)) };
    match &decision {
        Some(Decision::Rebalance { plan, trigger }) => {
            r.push("trigger", *trigger);
            r.push("leverage_before", format_leverage(plan.leverage_before_bps));
            r.push("expected_leverage_after", format_leverage(plan.leverage_after_bps));
            r.push("target_leverage", format_leverage(i64::from(st.token.target_leverage_bps)));
            r.push("trade_notional", format_signed_ui(plan.trade_notional, dec));
            r.push("trade_fee", st.amount(plan.trade_fee));
            r.push("keeper_reward", st.amount(plan.keeper_reward));
            r.push("chunked", plan.capped);
        }
        Some(Decision::Wipe { bad_debt }) => {
            r.push("trigger", "wipe");
            r.push("bad_debt", st.amount(*bad_debt));
        }
        Some(Decision::NotNeeded { leverage_bps }) if !a.force => {
            let lev = leverage_bps.map(format_leverage).unwrap_or_else(|| "-".into());
            return Err(refuse(ErrorCode::RebalanceNotNeeded, format!("leverage {lev}, target {}; `lt status` shows the closest trigger", format_leverage(i64::from(st.token.target_leverage_bps)))));
        }
        Some(Decision::Skip { reason }) if !a.force => {
            let code = if *reason == "wiped" { ErrorCode::TokenWiped } else { ErrorCode::Paused };
            return Err(refuse(code, (*reason).to_string()));
        }
        _ => {}
    }
    let e = execute_creating_ata(c, collateral_balance.is_none(), caller, &st.market.collateral_mint, ix::rebalance(caller, &keys, collateral)).await?;
    if !e.simulated {
        let after = load_token(c, a.token, a.oracle.oracle, Some(caller)).await?;
        let now = after.user_collateral.and_then(|(_, b)| b).unwrap_or(0);
        r.push("reward_received", st.amount(now - collateral_balance.unwrap_or(0)));
        r.push("rebalance_count", after.token.rebalance_count);
        if let Ok(Some(p)) = usable_price(&after.oracle, true) {
            if let Ok(s) = settle_view(&after.view(), &p, after.clock.slot, after.clock.unix_timestamp) {
                r.push("leverage_after", s.leverage_bps.map(format_leverage));
            }
        }
        r.push("status", if after.token.is_wiped() { "wiped" } else { "active" });
    }
    tx_fields(&mut r, &e);
    Ok(r)
}

pub async fn collect_fees<C: Chain>(c: &mut Client<C>, token: Pubkey) -> Result<Report> {
    let payer = c.signer_key()?;
    let t = c.token(token).await?;
    let m = c.market(t.market).await?;
    let cfg = c.config().await?;
    let dec = m.collateral_decimals;
    if t.fees_owed == 0 {
        bail!("{}: token {token} holds no protocol fees", describe(ErrorCode::NothingToCollect));
    }
    let keys = TokenKeys::from_token(MarketKeys::from_market(&m, None), &t);
    let treasury_account = ata(&cfg.treasury, &m.collateral_mint);
    let before = token_amount(c.fetch_one(treasury_account).await?.as_ref())?;
    let mut ixs = Vec::new();
    if before.is_none() {
        ixs.push(create_ata_ix(&payer, &cfg.treasury, &m.collateral_mint));
    }
    ixs.push(ix::collect_fees(&keys, treasury_account));
    let e = c.execute(ixs, &[]).await?;
    let mut r = Report::new("collect-fees").field("token", token).field("fees", format_ui_amount(t.fees_owed, dec)).field("treasury", cfg.treasury).field("treasury_account", treasury_account);
    if !e.simulated {
        let now = token_amount(c.fetch_one(treasury_account).await?.as_ref())?.unwrap_or(0);
        r.push("treasury_balance", format_ui_amount(now, dec));
    }
    tx_fields(&mut r, &e);
    Ok(r)
}
