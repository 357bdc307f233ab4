//! The report's verdicts and findings, computed from the replays (never typed
//! in): our defaults against FTX's rule and fixed daily, bad debt under both
//! path conventions, and the replay's own speed.

use std::fmt::Write as _;

use crate::engine::{ReplayResult, Run};
use crate::metrics::{compute, Metrics};

/// Everything the report says about one price file.
pub struct AssetResult {
    pub asset: String,
    /// The main comparison, oracle filled between the daily points.
    pub main: ReplayResult,
    /// The stress run: the same days, jumping straight between the four points.
    pub jumps: ReplayResult,
    /// One token (ours, +2x) over the whole file: (convention, points, instructions, seconds).
    pub speed: Vec<(String, usize, u64, f64)>,
    /// `ours` replayed again with other funding rates at full skew:
    /// (`funding_max_bps`, the replay). The default's figures are the main run's.
    pub sensitivity: Vec<(u32, ReplayResult)>,
}

impl AssetResult {
    /// `ours`' replays by funding rate at full skew, lowest first: the
    /// sensitivity runs and the main run at the default rate `default_bps`.
    pub fn funding_runs(&self, default_bps: u32) -> Vec<(u32, &ReplayResult)> {
        let mut runs: Vec<(u32, &ReplayResult)> = self.sensitivity.iter().map(|(f, r)| (*f, r)).collect();
        runs.push((default_bps, &self.main));
        runs.sort_by_key(|(f, _)| *f);
        runs
    }

    /// `ours`' replay at funding rate `f` (one of [`AssetResult::funding_runs`]).
    pub fn at_funding(&self, f: u32, default_bps: u32) -> Option<&ReplayResult> {
        self.funding_runs(default_bps).into_iter().find(|(x, _)| *x == f).map(|(_, r)| r)
    }
}

fn find<'a>(runs: &'a [Run], policy: &str, target_bps: i32) -> Option<&'a Run> {
    runs.iter().find(|r| r.policy.name() == policy && r.target_bps == target_bps)
}

fn lev(target_bps: i32) -> String {
    format!("{:+}x", f64::from(target_bps) / 10_000.0)
}

fn fate(m: &Metrics) -> String {
    match &m.wiped_at {
        Some(d) if m.bad_debt > 0.0 => format!("wiped {d}, bad debt {:.0} USDC", m.bad_debt),
        Some(d) => format!("wiped {d} (decayed to dust, no bad debt)"),
        None => "survives".into(),
    }
}

/// The two runs made exactly the same trades (the two rules coincide at this leverage).
/// Equal at the precision the report shows (TE to 0.1 %, cost to 1 bps/yr)
/// and wiped on the same day: two policies whose rule never differed along
/// the path, up to rounding in their own pools.
fn identical(a: &Metrics, b: &Metrics) -> bool {
    let shown = |m: &Metrics| (format!("{:.1}", m.tracking_error * 100.0), format!("{:.0}", m.rebalancing_bps_per_year));
    shown(a) == shown(b) && a.wiped_at == b.wiped_at
}

/// Whether two runs' policies are the same `TokenParams` at their leverage
/// (the same rule: their figures then differ only by rounding in their own
/// pools, whose borrow indices accrue at different moments).
fn same_rule(a: &Run, b: &Run) -> bool {
    a.target_bps == b.target_bps && a.policy.params(a.target_bps, 1, 1) == b.policy.params(b.target_bps, 1, 1)
}

/// (`ours`, `other`, same rule) for every asset × target where both ran.
fn pairs(results: &[AssetResult], targets: &[i32], other: &str) -> Vec<(Metrics, Metrics, bool)> {
    let mut out = Vec::new();
    for a in results {
        for &t in targets {
            if let (Some(o), Some(x)) = (find(&a.main.runs, "ours", t), find(&a.main.runs, other, t)) {
                out.push((compute(o), compute(x), same_rule(o, x)));
            }
        }
    }
    out
}

/// How `ours` compares with `other`: lower tracking error at lower
/// rebalancing cost (trade fees + keeper rewards, what a policy chooses) is
/// Pareto-better; survival counts before either figure (a wiped token's TE and
/// cost stop at its wipe).
pub fn verdict(ours: &Metrics, other: &Metrics, same_rule: bool) -> String {
    let (o_dead, x_dead) = (ours.wiped_at.is_some(), other.wiped_at.is_some());
    let te = ours.tracking_error <= other.tracking_error;
    let cost = ours.rebalancing_bps_per_year <= other.rebalancing_bps_per_year;
    let figures =
        format!("TE {:.1}% vs {:.1}%, rebalancing {:.0} vs {:.0} bps/yr", ours.tracking_error * 100.0, other.tracking_error * 100.0, ours.rebalancing_bps_per_year, other.rebalancing_bps_per_year);
    match (same_rule, identical(ours, other)) {
        (true, true) => return format!("identical (the same rule at this leverage; {figures})"),
        (true, false) => return format!("the same rule at this leverage ({figures}; the runs differ by rounding in their own pools)"),
        (false, true) => return format!("identical ({figures})"),
        (false, false) => {}
    }
    let word = match (o_dead, x_dead, te, cost) {
        (false, true, _, _) => "**survives where the other is wiped**",
        (true, false, _, _) => "**wiped where the other survives**",
        (_, _, true, true) => "**Pareto-better**",
        (_, _, true, false) => "lower TE, higher cost",
        (_, _, false, true) => "higher TE, lower cost",
        (_, _, false, false) => "**worse on both**",
    };
    format!("{word} ({figures})")
}

/// Our defaults against FTX's rule, FLI and fixed daily, per asset × leverage.
pub fn verdict_table(results: &[AssetResult], targets: &[i32]) -> String {
    let mut s = String::from("| asset | L | ours | vs FTX's rule | vs FLI | vs fixed daily |\n|---|---|---|---|---|---|\n");
    for a in results {
        for &t in targets {
            let Some(o) = find(&a.main.runs, "ours", t) else { continue };
            let om = compute(o);
            let cell = |p: &str| find(&a.main.runs, p, t).map_or("—".to_string(), |x| verdict(&om, &compute(x), same_rule(o, x)));
            writeln!(s, "| {} | {} | {} | {} | {} | {} |", a.asset, lev(t), fate(&om), cell("ftx"), cell("fli"), cell("daily")).unwrap();
        }
    }
    s
}

/// Counts of the verdicts above, for the summary sentence.
/// (Pareto-better, lower TE, survives where the other is wiped, identical, cases).
pub fn verdict_counts(results: &[AssetResult], targets: &[i32], other: &str) -> (usize, usize, usize, usize, usize) {
    let (mut pareto, mut lower_te, mut survives, mut same, mut n) = (0, 0, 0, 0, 0);
    for (o, x, same_rule) in pairs(results, targets, other) {
        n += 1;
        if same_rule || identical(&o, &x) {
            same += 1;
            continue;
        }
        if o.wiped_at.is_none() && x.wiped_at.is_some() {
            survives += 1;
        }
        if o.tracking_error <= x.tracking_error {
            lower_te += 1;
            if o.rebalancing_bps_per_year <= x.rebalancing_bps_per_year {
                pareto += 1;
            }
        }
    }
    (pareto, lower_te, survives, same, n)
}

/// Bad debt of every run under both conventions.
pub fn bad_debt_table(results: &[AssetResult]) -> String {
    let mut s = String::from("| asset | policy | L | oracle filled (1 % steps) | jumps between the 4 daily points |\n|---|---|---|---|---|\n");
    for a in results {
        for j in &a.jumps.runs {
            let Some(m) = find(&a.main.runs, j.policy.name(), j.target_bps) else { continue };
            let t = j.target_bps;
            let (m, j) = (compute(m), compute(j));
            let cell = |m: &Metrics| if m.bad_debt > 0.0 { format!("**{:.0} USDC** ({})", m.bad_debt, m.wiped_at.as_deref().unwrap_or("")) } else { "0".into() };
            writeln!(s, "| {} | {} | {} | {} | {} |", a.asset, m.policy, lev(t), cell(&m), cell(&j)).unwrap();
        }
    }
    s
}

/// Total bad debt over every main (filled) run, in USDC.
pub fn total_bad_debt_filled(results: &[AssetResult]) -> f64 {
    results.iter().flat_map(|a| a.main.runs.iter()).map(|r| compute(r).bad_debt).sum()
}

/// The rows of one run on a given date, as (nav before, nav after, ideal before, ideal after).
fn day_move(run: &Run, date: &str) -> Option<(f64, f64)> {
    let i = run.rows.iter().position(|r| crate::report::date(r.unix_ms) == date)?;
    let (a, b) = (run.rows.get(i.checked_sub(1)?)?, &run.rows[i]);
    (a.nav > 0.0 && a.ideal > 0.0).then(|| (b.nav / a.nav - 1.0, b.ideal / a.ideal - 1.0))
}

/// One line per crash day: what each policy's token did against the ideal.
pub fn crash_days(results: &[AssetResult], days: &[(&str, &str)], targets: &[i32]) -> String {
    let mut s = String::from("| day | asset | L | ideal (close to close) | ours | ftx | daily | fli |\n|---|---|---|---|---|---|---|---|\n");
    for (asset, day) in days {
        let Some(a) = results.iter().find(|a| a.asset == *asset) else { continue };
        for &t in targets {
            let mut cells = Vec::new();
            let mut ideal = None;
            for p in ["ours", "ftx", "daily", "fli"] {
                match find(&a.main.runs, p, t).and_then(|r| day_move(r, day)) {
                    Some((nav, id)) => {
                        ideal = Some(id);
                        cells.push(format!("{:+.1}%", nav * 100.0));
                    }
                    None => cells.push("—".into()),
                }
            }
            let Some(id) = ideal else { continue };
            writeln!(s, "| {day} | {asset} | {} | {:+.1}% | {} |", lev(t), id * 100.0, cells.join(" | ")).unwrap();
        }
    }
    s
}

/// Replay speed of one token over a whole file.
pub fn speed_table(results: &[AssetResult]) -> String {
    let mut s = String::from("| asset | convention | points | rebalance instructions | wall | points/s | instructions/s |\n|---|---|---|---|---|---|---|\n");
    for a in results {
        for (conv, points, instr, secs) in &a.speed {
            writeln!(s, "| {} | {conv} | {points} | {instr} | {secs:.1} s | {:.0} | {:.0} |", a.asset, *points as f64 / secs, *instr as f64 / secs).unwrap();
        }
    }
    s
}

/// The daily closes of a run where the market's book was net long (the
/// previous close's net > 0): (those days, the ones the token's funding
/// line was income or zero on).
pub fn funding_income_days(run: &Run) -> (usize, usize) {
    let (mut long_days, mut income) = (0, 0);
    for w in run.rows.windows(2) {
        if w[0].net > 0.0 && w[0].equity > 0.0 {
            long_days += 1;
            income += usize::from(w[1].funding <= w[0].funding);
        }
    }
    (long_days, income)
}

fn bps(x: f64) -> String {
    format!("{x:+.0}")
}

/// Each token of `ours`: its costs split per year (bps of average equity),
/// and for a short the days its funding was income while the book was net long.
pub fn cost_split_table(results: &[AssetResult], targets: &[i32]) -> String {
    let mut s = String::from(
        "| asset | L | funding | borrow | trade fees + keeper rewards | protocol fees | total | short: funding received (or zero) on net-long days |\n|---|---|---|---|---|---|---|---|\n",
    );
    for a in results {
        for &t in targets {
            let Some(r) = find(&a.main.runs, "ours", t) else { continue };
            let m = compute(r);
            let (days, income) = funding_income_days(r);
            let received = if t < 0 { format!("{income} of {days}") } else { "—".to_string() };
            writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | **{}** | {} |",
                a.asset,
                lev(t),
                bps(m.funding_bps_per_year),
                bps(m.borrow_bps_per_year),
                bps(m.rebalancing_bps_per_year),
                bps(m.protocol_bps_per_year),
                bps(m.cost_bps_per_year),
                received
            )
            .unwrap();
        }
    }
    s
}

/// Each policy's market at the end: LP P&L (pool value against the initial
/// deposit), the pool's funding and borrow income, the insurance fund, and
/// bad debt with who absorbed it — under the filled oracle and the jumps.
pub fn market_table(results: &[AssetResult]) -> String {
    let mut s = String::from(
        "| asset | policy | oracle | largest utilisation (\\|net\\| / LP cash) | LP P&L | pool income (funding + borrow) | insurance fund | bad debt | insurance paid | LPs paid |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for a in results {
        for (conv, out) in [("filled", &a.main), ("jumps", &a.jumps)] {
            for m in &out.markets {
                writeln!(
                    s,
                    "| {} | {} | {conv} | {:.1}% | {:+.2}% | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
                    a.asset,
                    m.policy.name(),
                    max_utilisation(out, m.policy) * 100.0,
                    m.lp_pnl() * 100.0,
                    m.income,
                    m.insurance,
                    m.bad_debt,
                    m.insurance_covered,
                    m.bad_debt - m.insurance_covered
                )
                .unwrap();
            }
        }
    }
    s
}

/// The largest utilisation (`|net| / LP cash`) a policy's market reached at a daily close.
pub fn max_utilisation(out: &ReplayResult, policy: crate::policy::Policy) -> f64 {
    max_utilisation_at(out, policy).map_or(0.0, |(u, _)| u)
}

/// The largest utilisation a policy's market reached at a daily close, and the date.
pub fn max_utilisation_at(out: &ReplayResult, policy: crate::policy::Policy) -> Option<(f64, String)> {
    let rows = out.runs.iter().filter(|r| r.policy == policy).flat_map(|r| r.rows.iter());
    rows.max_by(|a, b| a.utilisation.total_cmp(&b.utilisation)).map(|r| (r.utilisation, crate::report::date(r.unix_ms)))
}

/// The largest `|net| / pool value` (what the net cap counts) a policy's market reached at a daily close.
pub fn max_net_share(out: &ReplayResult, policy: crate::policy::Policy) -> f64 {
    let rows = out.runs.iter().filter(|r| r.policy == policy).flat_map(|r| r.rows.iter());
    rows.filter(|r| r.pool_value > 0.0).map(|r| r.net.abs() / r.pool_value).fold(0.0, f64::max)
}

/// The dates of the jump runs' wipes that left bad debt (sorted, distinct).
pub fn jump_bad_debt_dates(results: &[AssetResult]) -> Vec<String> {
    let mut d: Vec<String> = results.iter().flat_map(|a| a.jumps.runs.iter().filter(|r| r.bad_debt > 0).filter_map(move |r| r.wiped_at.as_ref().map(|w| format!("{} {w}", a.asset)))).collect();
    d.sort();
    d.dedup();
    d
}

/// The largest close-to-close fall of the underlying over the replayed paths, and where.
pub fn worst_close(results: &[AssetResult]) -> Option<(f64, String, String)> {
    let mut worst: Option<(f64, String, String)> = None;
    for a in results {
        let Some(r) = a.main.runs.first() else { continue };
        for w in r.rows.windows(2) {
            let x = w[1].price / w[0].price - 1.0;
            if worst.as_ref().is_none_or(|(m, ..)| x < *m) {
                worst = Some((x, a.asset.clone(), crate::report::date(w[1].unix_ms)));
            }
        }
    }
    worst
}

/// Total bad debt of the jump runs, and the part the insurance funds covered.
pub fn jump_bad_debt(results: &[AssetResult]) -> (f64, f64) {
    let ms = results.iter().flat_map(|a| a.jumps.markets.iter());
    ms.fold((0.0, 0.0), |(d, c), m| (d + m.bad_debt, c + m.insurance_covered))
}

/// `ours` at each funding rate: per token its funding and total cost per
/// year and tracking error, and the market's LP P&L and insurance fund.
pub fn sensitivity_table(results: &[AssetResult], targets: &[i32], default_bps: u32) -> String {
    let mut s = String::from("| asset | F_max | ");
    for &t in targets {
        write!(s, "{} funding / total bps/yr, TE | ", lev(t)).unwrap();
    }
    s.push_str("LP P&L | insurance |\n|---|---|");
    for _ in targets {
        s.push_str("---|");
    }
    s.push_str("---|---|\n");
    for a in results {
        for (f, out) in a.funding_runs(default_bps) {
            let Some(m) = out.markets.iter().find(|m| m.policy.name() == "ours") else { continue };
            let mark = if f == default_bps { " (default)" } else { "" };
            write!(s, "| {} | {:.0} %/yr{mark} | ", a.asset, f64::from(f) / 100.0).unwrap();
            for &t in targets {
                match find(&out.runs, "ours", t) {
                    Some(r) => {
                        let x = compute(r);
                        write!(s, "{} / {}, {:.1}% | ", bps(x.funding_bps_per_year), bps(x.cost_bps_per_year), x.tracking_error * 100.0).unwrap();
                    }
                    None => s.push_str("— | "),
                }
            }
            writeln!(s, "{:+.2}% | {:.0} |", m.lp_pnl() * 100.0, m.insurance).unwrap();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(te: f64, cost: f64, wiped: Option<&str>) -> Metrics {
        Metrics {
            policy: "x",
            leverage: 3.0,
            years: 1.0,
            token_return: 0.0,
            ideal_return: 0.0,
            underlying_return: 0.0,
            continuous_return: 0.0,
            tracking_error: te,
            worst_tracking_day: 0.0,
            rebalances_per_year: 0.0,
            cost_bps_per_year: cost,
            rebalancing_bps_per_year: cost,
            funding_bps_per_year: 0.0,
            borrow_bps_per_year: 0.0,
            protocol_bps_per_year: 0.0,
            realised_decay: 0.0,
            predicted_decay: 0.0,
            max_drawdown: 0.0,
            worst_day: 0.0,
            wiped_at: wiped.map(String::from),
            bad_debt: 0.0,
        }
    }

    #[test]
    fn a_verdict_names_pareto_dominance_trade_offs_and_survival_first() {
        assert!(verdict(&m(0.1, 100.0, None), &m(0.2, 200.0, None), false).starts_with("**Pareto-better**"));
        assert!(verdict(&m(0.1, 100.0, None), &m(0.1, 100.0, None), false).starts_with("identical"));
        assert!(verdict(&m(0.1, 100.0, None), &m(0.1001, 100.0, None), true).starts_with("identical (the same rule"));
        assert!(verdict(&m(0.1, 100.0, None), &m(0.10001, 100.2, None), false).starts_with("identical ("));
        assert!(verdict(&m(0.1, 300.0, None), &m(0.2, 200.0, None), false).starts_with("lower TE, higher cost"));
        assert!(verdict(&m(0.3, 100.0, None), &m(0.2, 200.0, None), false).starts_with("higher TE, lower cost"));
        assert!(verdict(&m(0.3, 300.0, None), &m(0.2, 200.0, None), false).starts_with("**worse on both**"));
        assert!(verdict(&m(0.3, 300.0, None), &m(0.2, 200.0, Some("2020-03-12")), false).starts_with("**survives where the other is wiped**"));
        assert!(verdict(&m(0.1, 100.0, Some("2020-03-12")), &m(0.2, 200.0, None), false).starts_with("**wiped where the other survives**"));
    }
}
