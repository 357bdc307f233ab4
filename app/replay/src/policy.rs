//! Rebalance policies as parameter sets of the program. Every policy is a
//! `TokenParams` the program validates; nothing is simulated off-chain.

use leveraged_token::constants::MAX_LEVERAGE_BPS;
use leveraged_token::TokenParams;
use leveraged_token_sdk::defaults;

/// Slots per day at 400 ms.
pub const DAY_SLOTS: u64 = 216_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// This project's defaults (`sdk::defaults::token_params`).
    Defaults,
    /// The tight set the instruction tests use (`sdk::defaults::responsive_token_params`):
    /// band ±20 %, ripcord +40 %, 10 % deviation, daily.
    Responsive,
    /// Candidate: de-risk intraday (band max 1.25·|L|, ripcord 1.3·|L|), re-lever
    /// intraday only below 0.5·|L|, otherwise daily; no deviation trigger.
    Derisk,
    /// FTX: daily rebalance, plus intraday when |L| reaches |target| + 1/3 (4x for 3x).
    Ftx,
    /// Index Coop FLI: band ±15 % (1.7–2.3 for 2x), ripcord +35 % (2.7 for 2x),
    /// daily interval, trades chunked at 10 % of the initial notional per call.
    Fli,
    /// Candidate: daily, plus an intraday de-risk only at 2·|L| (twice FTX's distance).
    Late,
    /// Candidate: daily, plus an intraday de-risk only at 1.5·|L|.
    Mid,
    /// Once a day, nothing else.
    Daily,
    /// Every 8 hours, nothing else.
    EightHourly,
}

pub const ALL: [Policy; 9] = [Policy::Defaults, Policy::Responsive, Policy::Derisk, Policy::Ftx, Policy::Fli, Policy::Late, Policy::Mid, Policy::Daily, Policy::EightHourly];

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Defaults => "ours",
            Policy::Responsive => "responsive",
            Policy::Derisk => "derisk",
            Policy::Ftx => "ftx",
            Policy::Fli => "fli",
            Policy::Late => "late",
            Policy::Mid => "mid",
            Policy::Daily => "daily",
            Policy::EightHourly => "8-hourly",
        }
    }

    /// Token parameters for `target` (signed bps); `unit` is one collateral
    /// unit (keeper reward) and `initial_notional` sizes FLI's chunks.
    pub fn params(self, target: i32, unit: u64, initial_notional: u64) -> TokenParams {
        let t = target.unsigned_abs();
        let base = defaults::token_params(target, unit);
        // Largest deviation the program accepts (< 1/|L|): effectively "never".
        let never_deviation = ((100_000_000 / t) - 1).min(9_999);
        let wide_band = TokenParams { band_min_bps: 0, band_max_bps: MAX_LEVERAGE_BPS, ripcord_bps: 2 * MAX_LEVERAGE_BPS, deviation_bps: never_deviation, ..base };
        match self {
            Policy::Defaults => base,
            Policy::Responsive => defaults::responsive_token_params(target, unit),
            Policy::Derisk => TokenParams { band_min_bps: t / 2, band_max_bps: t * 125 / 100, ripcord_bps: t * 130 / 100, deviation_bps: never_deviation, rebalance_period_slots: DAY_SLOTS, ..base },
            Policy::Ftx => TokenParams { band_max_bps: t + t / 3 - 1, ripcord_bps: t + t / 3, rebalance_period_slots: DAY_SLOTS, ..wide_band },
            Policy::Fli => TokenParams {
                band_min_bps: t * 85 / 100,
                band_max_bps: t * 115 / 100,
                ripcord_bps: t * 135 / 100,
                deviation_bps: never_deviation,
                rebalance_period_slots: DAY_SLOTS,
                max_notional_per_call: initial_notional / 10,
                ..base
            },
            Policy::Late => TokenParams { band_max_bps: 2 * t - 1, ripcord_bps: 2 * t, rebalance_period_slots: DAY_SLOTS, ..wide_band },
            Policy::Mid => TokenParams { band_max_bps: t * 3 / 2 - 1, ripcord_bps: t * 3 / 2, rebalance_period_slots: DAY_SLOTS, ..wide_band },
            Policy::Daily => TokenParams { rebalance_period_slots: DAY_SLOTS, ..wide_band },
            Policy::EightHourly => TokenParams { rebalance_period_slots: DAY_SLOTS / 3, ..wide_band },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_passes_the_programs_validation_at_every_replayed_leverage() {
        for p in ALL {
            for target in [30_000, -10_000, 20_000, -30_000] {
                let params = p.params(target, 1_000_000, 1_000_000_000);
                assert!(params.validate(target).is_ok(), "{} at {target}: {params:?}", p.name());
            }
        }
    }

    #[test]
    fn ftx_rebalances_intraday_at_4x_for_a_3x_token() {
        let p = Policy::Ftx.params(30_000, 1, 1);
        assert_eq!(p.ripcord_bps, 40_000);
        assert_eq!(p.rebalance_period_slots, DAY_SLOTS);
    }
}
