//! The replay drives the real program: a short path through the bank.
use leveraged_token::math::price::normalize_price;
use leveraged_token_replay::engine::{replay, Config, Flow, FlowCounts, DECIMALS};
use leveraged_token_replay::metrics::compute;
use leveraged_token_replay::policy::Policy;
use leveraged_token_sdk::prices::{intraday_path, Candle, DAY_MS};

fn candles(closes: &[i64]) -> Vec<Candle> {
    let mut prev = closes[0];
    closes
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let (o, hi, lo) = (prev, prev.max(c) * 101 / 100, prev.min(c) * 99 / 100);
            prev = c;
            Candle { unix_ms: 1_599_955_200_000 + i as i64 * DAY_MS, date: String::new(), open: o, high: hi, low: lo, close: c }
        })
        .collect()
}

#[tokio::test]
async fn a_daily_policy_tracks_the_daily_reset_ideal_and_a_crash_is_recorded() {
    let closes: Vec<i64> = [100, 103, 99, 104, 108, 101, 97, 102, 106, 110].iter().map(|p| p * 100_000_000).collect();
    let path = intraday_path(&candles(&closes));
    let cfg = Config { policies: vec![Policy::Daily, Policy::Defaults], targets: vec![30_000, -10_000], flow: None, market_params: leveraged_token_sdk::defaults::market_params() };
    let out = replay(&path, 0, &cfg, |_, _| {}).await.unwrap();
    assert_eq!(out.runs.len(), 4);
    assert_eq!(out.points, path.len());
    for r in &out.runs {
        assert_eq!(r.rows.len(), closes.len(), "one row per day");
        let m = compute(r);
        assert!(r.wiped_at.is_none());
        if r.policy == Policy::Daily {
            // Rebalanced at each close, so each day's return is L × r less fees:
            // the gap to the ideal is the borrow/streaming/trade cost only.
            assert!(m.worst_tracking_day < 0.002, "{} {}: {}", r.policy.name(), r.target_bps, m.worst_tracking_day);
            assert!(m.rebalances_per_year > 300.0);
        }
    }
    assert!(out.instructions > 0);
    // The JSON summary (serde) carries every run with the same figures.
    let json: serde_json::Value = serde_json::from_str(&leveraged_token_replay::report::summary_json("TEST", &out)).unwrap();
    assert_eq!(json["asset"], "TEST");
    assert_eq!(json["points"], path.len());
    assert_eq!(json["instructions"], out.instructions);
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), out.runs.len());
    for (j, r) in runs.iter().zip(&out.runs) {
        let m = compute(r);
        assert_eq!(j["policy"], m.policy);
        // serde_json's default float parsing is within an ulp, not exact.
        let close = |key: &str, want: f64| (j[key].as_f64().unwrap() - want).abs() <= want.abs() * 1e-14;
        assert!(close("leverage", m.leverage) && close("tracking_error", m.tracking_error) && close("cost_bps_per_year", m.cost_bps_per_year), "{j}");
        assert!(j["wiped_at"].is_null() && j["lp_pnl"].is_number() && j.get("years").is_none(), "{j}");
    }
}

#[tokio::test]
async fn a_random_mint_redeem_flow_lands_is_seeded_and_leaves_the_holders_nav_per_share_within_fees() {
    let closes: Vec<i64> = (0..40).map(|i| (100 + (i * 37 % 11) - 5) * 100_000_000).collect();
    let path = intraday_path(&candles(&closes));
    let base = Config { policies: vec![Policy::Defaults], targets: vec![30_000, -10_000], flow: None, market_params: leveraged_token_sdk::defaults::market_params() };
    let flow = Config { flow: Some(Flow { seed: 7, daily_probability: 0.5 }), ..base.clone() };
    let quiet = replay(&path, 0, &base, |_, _| {}).await.unwrap();
    let busy = replay(&path, 0, &flow, |_, _| {}).await.unwrap();
    let again = replay(&path, 0, &flow, |_, _| {}).await.unwrap();
    for (q, (b, a)) in quiet.runs.iter().zip(busy.runs.iter().zip(&again.runs)) {
        assert_eq!(q.flow, FlowCounts::default());
        assert!(b.flow.mints >= 5 && b.flow.redeems >= 3, "{:?}", b.flow);
        assert_eq!(b.flow, a.flow, "the same seed replays the same flow");
        for (x, y) in q.rows.iter().zip(&b.rows) {
            // Others minting and redeeming at NAV never moves a holder's NAV per share
            // by more than their fees and confidence haircut (which go to the token).
            assert!((y.nav / x.nav - 1.0).abs() < 0.002, "{} vs {} on day {}", y.nav, x.nav, x.unix_ms / DAY_MS);
        }
    }
    // Each flow mint or redeem is two instructions: the request, then its execution (a fill, a
    // refund, or refused: then a cancel after expiry); a request the program refused is one.
    let flow: u64 = busy.runs.iter().map(|r| 2 * (r.flow.mints + r.flow.redeems + r.flow.refunded + r.flow.stuck) + r.flow.refused + r.flow.cancelled).sum();
    assert_eq!(busy.instructions - quiet.instructions, flow, "{:?}", busy.runs.iter().map(|r| r.flow).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_eight_hourly_schedule_rebalances_at_the_update_for_its_grid_time_priced_at_the_path_then() {
    // Four points a day (0 h, 6 h, 12 h, 18 h): an 8-hour grid falls between points at 8 h
    // and 16 h (due at the 12 h and 18 h points), and on the 0 h point.
    let closes: Vec<i64> = [100, 103, 99, 104, 108, 101, 97, 102, 106, 110].iter().map(|p| p * 100_000_000).collect();
    let path = intraday_path(&candles(&closes));
    let cfg = Config { policies: vec![Policy::EightHourly, Policy::Daily], targets: vec![30_000], flow: None, market_params: leveraged_token_sdk::defaults::market_params() };
    let out = replay(&path, 0, &cfg, |_, _| {}).await.unwrap();
    let (eight, daily) = (&out.runs[0], &out.runs[1]);
    let start = path[0].unix_ms;
    const HOUR: i64 = DAY_MS / 24;
    // Daily: the grid is the 0 h points, each the fresh update's own time: one rebalance a day
    // after the first, none with an earlier update.
    assert!(daily.late_schedules.is_empty(), "{:?}", daily.late_schedules);
    assert_eq!(daily.rows.last().unwrap().rebalances, closes.len() as u64 - 1);
    // 8-hourly: three a day (29 in all after the start); the two off the points act on the
    // update for 8 h / 16 h, which carries the price of the 6 h / 12 h point, at the next point.
    assert_eq!(eight.rows.last().unwrap().rebalances, 3 * closes.len() as u64 - 1);
    assert_eq!(eight.late_schedules.len(), 2 * closes.len());
    let mut differs = 0;
    for (j, s) in eight.late_schedules.iter().enumerate() {
        let (day, half) = (j as i64 / 2, j as i64 % 2);
        assert_eq!(s.time_ms, start + day * DAY_MS + (8 + 8 * half) * HOUR, "{s:?}");
        assert_eq!(s.point_ms, start + day * DAY_MS + (12 + 6 * half) * HOUR, "{s:?}");
        let then = path[path.partition_point(|p| p.unix_ms <= s.time_ms) - 1].price_e8;
        let at_point = path.iter().find(|p| p.unix_ms == s.point_ms).unwrap().price_e8;
        assert_eq!(s.price, normalize_price(then, 0, -8, DECIMALS).unwrap().price, "{s:?}");
        differs += usize::from(then != at_point);
    }
    assert!(differs > 10, "the update for the grid time is not the point's price: {differs}");
}
