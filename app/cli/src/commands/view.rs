//! `status <token>` and `list`: read-only views computed with sdk::decide.

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use anyhow::{anyhow, Result};
use leveraged_token::math::pool::Side;
use leveraged_token::math::position::notional_floor;
use leveraged_token::math::BPS;
use leveraged_token::state::{LeveragedToken, Market, OracleKind, ParamProposal};
use leveraged_token_sdk::chain::Chain;
use leveraged_token_sdk::decide::{decide, distance, nav_per_share, rates_per_year, settle_view, Decision};

use super::{describe, hex, load_market_tokens, load_token, pool_value_of, ui_price, TokenState};
use crate::amount::{format_bps_pct, format_leverage, format_signed_fixed, format_signed_ui, format_ui_amount};
use crate::args::pause_names;
use crate::client::{decode_mint, token_amount, Client};
use crate::report::{Report, Value};

/// Approximate wall time of `slots` at 400 ms a slot.
pub fn slots_as_time(slots: u64) -> String {
    let secs = slots * 2 / 5;
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        format!("~{d}d {h}h {m}m")
    } else if h > 0 {
        format!("~{h}h {m}m")
    } else {
        format!("~{m}m {}s", secs % 60)
    }
}

/// The price at which a token at leverage `l0` (bps, signed) now at `price`
/// drifts to leverage `lx` with no trade: p·lx(1−l0) / (l0(1−lx)); `None` if
/// the leverage never gets there.
pub fn price_at_leverage(price: u128, l0: i64, lx: i64) -> Option<u128> {
    let b = BPS as i128;
    let (l0, lx) = (i128::from(l0), i128::from(lx));
    let num = lx.checked_mul(b - l0)?;
    let den = l0.checked_mul(b - lx)?;
    if den == 0 || num == 0 || (num > 0) != (den > 0) {
        return None;
    }
    (price as i128).checked_mul(num.abs())?.checked_div(den.abs()).map(|p| p as u128)
}

/// A price trigger: its name, the price at which it fires, and the move to get there.
struct PriceTrigger {
    key: &'static str,
    name: String,
    price: u128,
    move_bps: i128,
    /// The trigger holds already at the current price.
    open: bool,
}

pub async fn status<C: Chain>(c: &mut Client<C>, token: Pubkey, oracle: Option<Pubkey>) -> Result<Report> {
    let st: TokenState = load_token(c, token, oracle, None).await?;
    let dec = st.decimals();
    let t = &st.token;
    let m = &st.market;
    let target = i64::from(t.target_leverage_bps);
    let mut r = Report::new(format!("status of token {token}"));
    r.push("token", token);
    r.push("market", t.market);
    r.push("share_mint", st.keys.share_mint);
    r.push("status", if t.is_wiped() { "wiped" } else { "active" });
    let global = st.config.as_ref().map(|c| c.pause_flags).unwrap_or(0);
    r.push("paused", pause_names(leveraged_token::pause::effective_pause_flags(global, m.pause_flags, t.pause_flags)));
    r.push("slot", st.clock.slot);
    r.push("oracle", st.keys.market.oracle);
    let reading = match &st.oracle {
        Ok(o) => {
            r.push("price", ui_price(o.price.price, dec));
            r.push("price_confidence", format!("{} ({} bps)", ui_price(o.price.conf, dec), o.conf_bps));
            r.push("oracle_age", format!("{} {}", o.age, o.age_unit));
            r.push("oracle_problem", o.problem.map(describe));
            Some(o.price)
        }
        Err(e) => {
            r.push("price", Value::Null);
            r.push("oracle_problem", e.clone());
            None
        }
    };
    r.push("target_leverage", format_leverage(target));
    r.push("share_supply", st.amount(st.share_supply));
    r.push("vault", st.amount(st.vault_amount));
    r.push("fees_owed", st.amount(t.fees_owed));
    r.push("position_base", format_signed_fixed(t.base, 9, 6));
    r.push("last_rebalance_price", (t.last_rebalance_price > 0).then(|| ui_price(t.last_rebalance_price, dec)));
    r.push("schedule_anchor_slot", t.schedule_anchor_slot);
    r.push("rebalance_count", t.rebalance_count);
    let Some(p) = reading else { return Ok(r) };

    let view = st.view();
    let now = st.clock.unix_timestamp;
    let s = settle_view(&view, &p, st.clock.slot, now).map_err(|e| anyhow!("settle: {e:?}"))?;
    let nav = nav_per_share(s.equity, st.share_supply, dec).map_err(|e| anyhow!("nav: {e:?}"))?;
    r.push("equity", st.amount(s.equity));
    r.push("nav_per_share", st.amount(u64::try_from(nav).unwrap_or(u64::MAX)));
    r.push("leverage", s.leverage_bps.map(format_leverage));
    r.push("leverage_vs_target", s.leverage_bps.map(|l| format!("{} vs {}", format_leverage(l), format_leverage(target))));
    let notional = notional_floor(t.base, p.price).map_err(|e| anyhow!("notional: {e:?}"))?;
    r.push("position_notional", format_signed_ui(notional, dec));

    // What the token pays or receives now, per year.
    let rates = rates_per_year(m, st.pool_amount).map_err(|e| anyhow!("rates: {e:?}"))?;
    let (rate, borrow) = if t.base >= 0 { (rates.long_bps, rates.long_borrow_bps) } else { (rates.short_bps, rates.short_borrow_bps) };
    r.push("charge_per_year", format!("{} of notional (funding {}, borrow {}; negative: received)", format_bps_pct(rate), format_bps_pct(rate - borrow as i128), format_bps_pct(borrow as i128)));
    r.push("total_funding", format_signed_ui(i128::from(t.total_funding), dec));
    r.push("total_borrow_fees", st.amount(t.total_borrow_fees));

    // The pool: its value by the program's rule (every token of the market,
    // each one's loss at most its vault), the book's sides and net, the caps.
    let tokens = load_market_tokens(c, &st.keys.market, m).await?;
    let value = pool_value_of(m, &tokens, st.pool_amount, &p, Side::Low, now)?;
    let agg = m.aggregates();
    let (long, short) = agg.side_notionals_ceil(p.price).map_err(|e| anyhow!("notional: {e:?}"))?;
    let net = agg.net_notional_floor(p.price).map_err(|e| anyhow!("net: {e:?}"))?;
    let of_value = |x: u128| (x * BPS).checked_div(value).map(|u| format_bps_pct(u as i128)).unwrap_or_else(|| "-".to_string());
    r.push("pool_value", format_ui_amount(u64::try_from(value).unwrap_or(u64::MAX), dec));
    r.push(
        "pool_long_notional",
        format!("{} ({} of pool value; cap {})", format_ui_amount(u64::try_from(long).unwrap_or(u64::MAX), dec), of_value(long), format_bps_pct(i128::from(m.params.side_cap_bps))),
    );
    r.push(
        "pool_short_notional",
        format!("{} ({} of pool value; cap {})", format_ui_amount(u64::try_from(short).unwrap_or(u64::MAX), dec), of_value(short), format_bps_pct(i128::from(m.params.side_cap_bps))),
    );
    r.push("pool_net_notional", format!("{} ({} of pool value; cap {})", format_signed_ui(net, dec), of_value(net.unsigned_abs()), format_bps_pct(i128::from(m.params.net_cap_bps))));
    r.push("insurance_owed", st.amount(m.insurance_owed));
    r.push("bad_debt_total", format!("{} (insurance covered {})", st.amount(m.bad_debt_total), st.amount(m.insurance_covered_total)));

    // The gate now, and how far the triggers are.
    let decision = decide(&view, &p, st.clock.slot, now, global).map_err(|e| anyhow!("decide: {e:?}"))?;
    r.push(
        "rebalance_now",
        match &decision {
            Decision::Rebalance { trigger, plan } => format!("yes: {trigger} (to {})", format_leverage(plan.leverage_after_bps)),
            Decision::Wipe { bad_debt } => format!("yes: wipe (bad debt {})", st.amount(*bad_debt)),
            Decision::NotNeeded { .. } => "no".to_string(),
            Decision::Skip { reason } => format!("no ({reason})"),
        },
    );
    let d = distance(&view, st.clock.slot);
    let mut triggers = Vec::new();
    let mv = |to: u128| -> i128 { (to as i128 - p.price as i128) * BPS as i128 / p.price as i128 };
    if t.last_rebalance_price > 0 {
        let (down, up) = (d.deviation_down_price, d.deviation_up_price);
        triggers.push(PriceTrigger { key: "trigger_deviation_down", name: "deviation (down)".into(), price: down, move_bps: mv(down), open: p.price <= down });
        triggers.push(PriceTrigger { key: "trigger_deviation_up", name: "deviation (up)".into(), price: up, move_bps: mv(up), open: p.price >= up });
    }
    if let Some(l0) = s.leverage_bps.filter(|l| *l != 0) {
        let sign = target.signum();
        let bounds = [("trigger_band_max", "band max", t.params.band_max_bps), ("trigger_band_min", "band min", t.params.band_min_bps), ("trigger_ripcord", "ripcord", t.params.ripcord_bps)];
        for (key, name, bound) in bounds {
            let lx = sign * i64::from(bound);
            let abs = l0.unsigned_abs();
            let open = match key {
                "trigger_band_max" => abs > u64::from(bound),
                "trigger_band_min" => abs < u64::from(bound),
                _ => abs >= u64::from(bound),
            };
            if let Some(px) = price_at_leverage(p.price, l0, lx) {
                triggers.push(PriceTrigger { key, name: format!("{name} ({})", format_leverage(lx)), price: px, move_bps: mv(px), open });
            }
        }
    }
    for tr in &triggers {
        let state = if tr.open { ", open now" } else { "" };
        r.push(tr.key, format!("{} ({}{state})", ui_price(tr.price, dec), format_bps_pct(tr.move_bps)));
    }
    r.push("slots_to_time_trigger", d.slots_to_time_trigger);
    r.push("time_to_time_trigger", slots_as_time(d.slots_to_time_trigger));
    let closest = triggers.iter().filter(|tr| !tr.open && tr.move_bps != 0).min_by_key(|tr| tr.move_bps.unsigned_abs());
    let next = match closest {
        Some(tr) => format!("{} at {} ({} away), or time in {} slots", tr.name, ui_price(tr.price, dec), format_bps_pct(tr.move_bps), d.slots_to_time_trigger),
        None => format!("time in {} slots", d.slots_to_time_trigger),
    };
    r.push(
        "closest_trigger",
        match &decision {
            Decision::Rebalance { trigger, .. } => format!("{trigger}: open now"),
            Decision::Wipe { .. } => "wipe: open now".to_string(),
            _ => next,
        },
    );
    Ok(r)
}

pub async fn list<C: Chain>(c: &mut Client<C>) -> Result<Report> {
    let endpoint = c.endpoint();
    let mut markets = c.chain.program_accounts(&leveraged_token::ID, Market::DISCRIMINATOR).await?;
    let mut tokens = c.chain.program_accounts(&leveraged_token::ID, LeveragedToken::DISCRIMINATOR).await?;
    markets.sort_by_key(|(k, _)| *k);
    let decoded_markets: Vec<(Pubkey, Market)> = markets.iter().filter_map(|(k, a)| anchor_lang::AccountDeserialize::try_deserialize(&mut a.data.as_slice()).ok().map(|m: Market| (*k, m))).collect();
    let mut decoded_tokens: Vec<(Pubkey, LeveragedToken)> =
        tokens.drain(..).filter_map(|(k, a)| anchor_lang::AccountDeserialize::try_deserialize(&mut a.data.as_slice()).ok().map(|t: LeveragedToken| (k, t))).collect();
    decoded_tokens.sort_by_key(|(k, t)| (t.market, t.target_leverage_bps, *k));
    // Pending (timelocked) parameter changes, by the market or token they are for.
    let proposals = c.chain.program_accounts(&leveraged_token::ID, ParamProposal::DISCRIMINATOR).await?;
    let proposals: Vec<ParamProposal> = proposals.iter().filter_map(|(_, a)| anchor_lang::AccountDeserialize::try_deserialize(&mut a.data.as_slice()).ok()).collect();
    let now = if proposals.is_empty() { 0 } else { c.clock().await?.unix_timestamp };
    let pending = |target: &Pubkey| match proposals.iter().find(|p| p.target == *target) {
        Some(p) if !p.is_due(now) => format!("applicable at {} (in {} s)", p.eta, p.due_in_secs(now)),
        Some(p) => format!("applicable since {} (`lt params apply {target}`)", p.eta),
        None => "none".to_string(),
    };
    // Pool balances and share supplies in one batch.
    let mut want: Vec<Pubkey> = decoded_markets.iter().map(|(_, m)| m.pool_vault).collect();
    want.extend(decoded_tokens.iter().map(|(_, t)| t.share_mint));
    let got = c.fetch(&want).await?;
    let decimals = |market: &Pubkey| decoded_markets.iter().find(|(k, _)| k == market).map(|(_, m)| m.collateral_decimals);
    let mut mrows = Vec::new();
    for (i, (k, m)) in decoded_markets.iter().enumerate() {
        let pool = token_amount(got[i].as_ref()).ok().flatten();
        let oracle = match m.oracle_kind {
            OracleKind::PythLegacy => Pubkey::new_from_array(m.oracle_id).to_string(),
            OracleKind::PythPull => format!("feed {}", hex(&m.oracle_id)),
        };
        mrows.push(
            Report::new("")
                .field("market", *k)
                .field("oracle_kind", if m.oracle_kind == OracleKind::PythLegacy { "legacy" } else { "pull" })
                .field("oracle", oracle)
                .field("collateral_mint", m.collateral_mint)
                .field("pool_vault_balance", pool.map(|p| format_ui_amount(p, m.collateral_decimals)))
                .field("tokens", m.token_count)
                .field("paused", pause_names(m.pause_flags))
                .field("pending_change", pending(k)),
        );
    }
    let mut trows = Vec::new();
    for (j, (k, t)) in decoded_tokens.iter().enumerate() {
        let dec = decimals(&t.market);
        let supply = decode_mint(&t.share_mint, got[decoded_markets.len() + j].as_ref(), &endpoint).ok().map(|m| m.supply);
        trows.push(
            Report::new("")
                .field("token", *k)
                .field("market", t.market)
                .field("target_leverage", format_leverage(i64::from(t.target_leverage_bps)))
                .field("status", if t.is_wiped() { "wiped" } else { "active" })
                .field("share_mint", t.share_mint)
                .field(
                    "share_supply",
                    match (supply, dec) {
                        (Some(s), Some(d)) => Some(format_ui_amount(s, d)),
                        _ => None,
                    },
                )
                .field("paused", pause_names(t.pause_flags))
                .field("pending_change", pending(k)),
        );
    }
    Ok(Report::new(format!("program {} on {endpoint}", leveraged_token::ID)).field("markets", Value::List(mrows)).field("tokens", Value::List(trows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_prices_of_a_3x_long_and_a_1x_short() {
        let p = 100_000_000u128;
        // 3x long drifts to 3.6x when the price falls 7.69 %, to 2.4x when it rises 14.29 %.
        assert_eq!(price_at_leverage(p, 30_000, 36_000), Some(92_307_692));
        assert_eq!(price_at_leverage(p, 30_000, 24_000), Some(114_285_714));
        // 1x short: −1.2x at +9.09 %, −0.8x at −11.11 %.
        assert_eq!(price_at_leverage(p, -10_000, -12_000), Some(109_090_909));
        assert_eq!(price_at_leverage(p, -10_000, -8_000), Some(88_888_888));
        // A 1x long never leaves 1x.
        assert_eq!(price_at_leverage(p, 10_000, 12_000), None);
    }

    #[test]
    fn slot_durations() {
        assert_eq!(slots_as_time(216_000), "~1d 0h 0m");
        assert_eq!(slots_as_time(150), "~1m 0s");
    }
}
