//! Metrics of a replayed token against the ideal daily-reset return and the
//! continuous-rebalancing limit (Avellaneda & Zhang, 2010). Reporting only:
//! floats are fine here, none of this runs on-chain.

use crate::engine::{Row, Run, HOLDING, UNIT};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metrics {
    pub policy: &'static str,
    pub leverage: f64,
    #[serde(skip)]
    pub years: f64,
    /// Token, ideal daily-reset and underlying total returns (fractions).
    pub token_return: f64,
    pub ideal_return: f64,
    pub underlying_return: f64,
    /// Continuous-rebalancing limit: (S_T/S_0)^L · exp(−(L² − L)·QV/2) − 1.
    pub continuous_return: f64,
    /// Annualised stdev of daily log(token) − log(ideal) returns.
    pub tracking_error: f64,
    /// Largest single-day |log(token) − log(ideal)|.
    pub worst_tracking_day: f64,
    pub rebalances_per_year: f64,
    /// Every cost per year, in bps of average equity ([`Row::costs`])...
    pub cost_bps_per_year: f64,
    /// ...of which rebalancing (trade fees + keeper rewards: what the policy
    /// chooses), funding (negative: income), borrow and protocol fees.
    pub rebalancing_bps_per_year: f64,
    pub funding_bps_per_year: f64,
    pub borrow_bps_per_year: f64,
    pub protocol_bps_per_year: f64,
    /// Realised log(V_T/V_0) − L·log(S_T/S_0), and the formula's −(L² − L)·QV/2.
    pub realised_decay: f64,
    pub predicted_decay: f64,
    pub max_drawdown: f64,
    pub worst_day: f64,
    pub wiped_at: Option<String>,
    pub bad_debt: f64,
}

fn stdev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

pub fn compute(run: &Run) -> Metrics {
    let rows: &[Row] = &run.rows;
    let l = f64::from(run.target_bps) / 10_000.0;
    let (first, last) = (rows.first().expect("rows"), rows.last().expect("rows"));
    let years = ((last.unix_ms - first.unix_ms) as f64 / 86_400_000.0 / 365.0).max(1.0 / 365.0);
    let mut diffs = Vec::new();
    let mut qv = 0.0;
    let mut worst_day = 0.0f64;
    let mut peak = first.nav;
    let mut max_dd = 0.0f64;
    for w in rows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let ls = (b.price / a.price).ln();
        qv += ls * ls;
        if a.nav > 0.0 && b.nav > 0.0 && a.ideal > 0.0 && b.ideal > 0.0 {
            diffs.push((b.nav / a.nav).ln() - (b.ideal / a.ideal).ln());
        }
        if a.nav > 0.0 {
            worst_day = worst_day.min(b.nav / a.nav - 1.0);
        }
        peak = peak.max(b.nav);
        if peak > 0.0 {
            max_dd = max_dd.max(1.0 - b.nav / peak);
        }
    }
    let s_ratio = last.price / first.price;
    let avg_equity = rows.iter().map(|r| r.equity).sum::<f64>() / rows.len() as f64;
    let per_year = |x: f64| if avg_equity > 0.0 { x / avg_equity / years * 10_000.0 } else { 0.0 };
    let realised = if last.nav > 0.0 { (last.nav / first.nav).ln() - l * s_ratio.ln() } else { f64::NEG_INFINITY };
    Metrics {
        policy: run.policy.name(),
        leverage: l,
        years,
        token_return: last.nav / first.nav - 1.0,
        ideal_return: last.ideal / first.ideal - 1.0,
        underlying_return: s_ratio - 1.0,
        continuous_return: s_ratio.powf(l) * (-(l * l - l) * qv / 2.0).exp() - 1.0,
        tracking_error: stdev(&diffs) * 365f64.sqrt(),
        worst_tracking_day: diffs.iter().fold(0.0f64, |m, d| m.max(d.abs())),
        rebalances_per_year: last.rebalances as f64 / years,
        cost_bps_per_year: per_year(last.costs()),
        rebalancing_bps_per_year: per_year(last.rebalancing_cost()),
        funding_bps_per_year: per_year(last.funding),
        borrow_bps_per_year: per_year(last.borrow),
        protocol_bps_per_year: per_year(last.protocol_fees),
        realised_decay: realised,
        predicted_decay: -(l * l - l) * qv / 2.0,
        max_drawdown: max_dd,
        worst_day,
        wiped_at: run.wiped_at.clone(),
        bad_debt: run.bad_debt as f64 / UNIT as f64,
    }
}

/// LP P&L of a policy's pool (fraction of the initial deposit).
pub fn lp_pnl(run: &Run) -> f64 {
    let pool = crate::engine::POOL as f64 / UNIT as f64;
    run.rows.last().map(|r| r.pool_value / pool - 1.0).unwrap_or(0.0)
}

pub const INITIAL_HOLDING: f64 = HOLDING as f64 / UNIT as f64;
