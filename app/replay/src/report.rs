//! Output: CSV time series, JSON summary and markdown tables.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use leveraged_token_sdk::prices::DAY_MS;

use crate::engine::{ReplayResult, Run};
use crate::metrics::{compute, lp_pnl, Metrics};

/// Civil date (UTC) of a unix-ms timestamp.
pub fn date(unix_ms: i64) -> String {
    let z = unix_ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn run_label(r: &Run) -> String {
    format!("{}-{}x", r.policy.name(), f64::from(r.target_bps) / 10_000.0)
}

/// One CSV per run: date, price, nav, ideal, leverage, base, equity, the
/// cumulative costs (funding, borrow, trade fees, keeper rewards, protocol
/// fees), rebalances, the market's pool value and insurance fund, rebalanced.
pub fn write_csv(dir: &Path, asset: &str, out: &ReplayResult) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for r in &out.runs {
        let mut s = String::from("date,price,nav,ideal,leverage,base,equity,funding,borrow,trade_fees,keeper_rewards,protocol_fees,rebalances,pool_value,insurance,net,rebalanced\n");
        for row in &r.rows {
            writeln!(
                s,
                "{},{},{:.6},{:.6},{:.4},{:.6},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{},{:.2},{:.2},{:.2},{}",
                date(row.unix_ms),
                row.price,
                row.nav,
                row.ideal,
                row.leverage,
                row.base,
                row.equity,
                row.funding,
                row.borrow,
                row.trade_fees,
                row.keeper_rewards,
                row.protocol_fees,
                row.rebalances,
                row.pool_value,
                row.insurance,
                row.net,
                u8::from(row.rebalanced)
            )?;
        }
        let p = dir.join(format!("{asset}-{}.csv", run_label(r)));
        std::fs::write(&p, s).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// One run in the JSON summary: its metrics and the LP's P&L.
#[derive(serde::Serialize)]
struct RunSummary {
    #[serde(flatten)]
    metrics: Metrics,
    lp_pnl: f64,
}

/// The JSON summary of one asset's runs (non-finite figures are `null`).
#[derive(serde::Serialize)]
struct Summary<'a> {
    asset: &'a str,
    points: usize,
    instructions: u64,
    wall_seconds: f64,
    missing_days: usize,
    runs: Vec<RunSummary>,
}

pub fn summary_json(asset: &str, out: &ReplayResult) -> String {
    let runs = out.runs.iter().map(|r| RunSummary { metrics: compute(r), lp_pnl: lp_pnl(r) }).collect();
    let summary = Summary { asset, points: out.points, instructions: out.instructions, wall_seconds: out.wall_seconds, missing_days: out.missing_days, runs };
    let mut s = serde_json::to_string_pretty(&summary).expect("the summary serializes");
    s.push('\n');
    s
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1}%", x * 100.0)
    } else {
        "−∞".into()
    }
}

/// The headline markdown table for one asset.
pub fn markdown_table(out: &ReplayResult) -> String {
    let mut s = String::from("| policy | L | token | ideal daily | continuous | TE /yr | worst TE day | rebal/yr | cost bps/yr | rebalancing | funding | borrow | protocol | decay real / formula | max DD | worst day | bad debt | LP P&L |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    let mut ms: Vec<(Metrics, f64)> = out.runs.iter().map(|r| (compute(r), lp_pnl(r))).collect();
    ms.sort_by(|a, b| a.0.leverage.partial_cmp(&b.0.leverage).unwrap().reverse().then(a.0.policy.cmp(b.0.policy)));
    for (m, lp) in ms {
        writeln!(
            s,
            "| {} | {:+} | {} | {} | {} | {:.1}% | {:.1}% | {:.0} | {:.0} | {:.0} | {:+.0} | {:.0} | {:.0} | {:.2} / {:.2} | {:.1}% | {} | {} | {} |",
            m.policy,
            m.leverage,
            pct(m.token_return),
            pct(m.ideal_return),
            pct(m.continuous_return),
            m.tracking_error * 100.0,
            m.worst_tracking_day * 100.0,
            m.rebalances_per_year,
            m.cost_bps_per_year,
            m.rebalancing_bps_per_year,
            m.funding_bps_per_year,
            m.borrow_bps_per_year,
            m.protocol_bps_per_year,
            m.realised_decay,
            m.predicted_decay,
            m.max_drawdown * 100.0,
            pct(m.worst_day),
            match &m.wiped_at {
                Some(d) => format!("wiped {d} ({:.0} USDC)", m.bad_debt),
                None => "0".into(),
            },
            pct(lp),
        )
        .unwrap();
    }
    s
}
