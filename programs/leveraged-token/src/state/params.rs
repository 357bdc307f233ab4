//! Parameter sets and the one validation function for each, used by create and
//! update alike.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::ErrorCode;
use crate::math::rebalance::GateParams;
use crate::math::BPS;

/// Market (LP pool and oracle) parameters.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketParams {
    /// Fee on every notional traded against the pool, paid to the pool.
    pub trade_fee_bps: u16,
    /// Funding per year at full skew: the heavier side pays `F_max × skew`
    /// on its notional, the lighter side receives it, the pool keeps what the
    /// imbalance pays ([`crate::math::funding`]).
    pub funding_max_bps: u32,
    /// Borrow fee per year both sides pay whatever the skew (all a balanced
    /// book pays).
    pub borrow_base_bps: u32,
    /// The heavier side's borrow on the pool's utilisation `|net| / cash`:
    /// linear to `borrow_kink_rate_bps` at `borrow_kink_utilization_bps`,
    /// then to `borrow_max_rate_bps` at 100 %.
    pub borrow_kink_utilization_bps: u32,
    pub borrow_kink_rate_bps: u32,
    pub borrow_max_rate_bps: u32,
    /// Share of trade fees and of the pool's funding and borrow income that
    /// goes to the insurance fund.
    pub insurance_share_bps: u16,
    /// Caps on the net book, as shares of pool value: each side's notional,
    /// |net notional|, and a token's loss beyond its equity in a price jump
    /// of `stress_jump_bps` against it. A mint that makes |net| smaller is
    /// never refused by them; an LP withdrawal is limited by the net cap.
    pub side_cap_bps: u32,
    pub net_cap_bps: u32,
    pub stress_jump_bps: u32,
    pub stress_loss_cap_bps: u32,
    /// Freshness of the prices that act now (band, ripcord, deviation and
    /// chunk rebalances, wipes, settlements of fee collection and parameter
    /// applies; requests and scheduled rebalances execute at a fixed update
    /// instead). Legacy oracle: max age of `pub_slot` in slots.
    pub max_age_slots: u64,
    /// Pull oracle: max age of `publish_time` in seconds.
    pub max_age_secs: i64,
    /// Max confidence half-width in bps of price.
    pub max_conf_bps: u16,
    /// A request executes at the oracle update that follows
    /// `requested_at + request_delay_secs` (legacy: the slot as many 400 ms
    /// slots later), whoever executes it and whenever.
    pub request_delay_secs: u16,
    /// A request not executed within this many seconds after its price time
    /// expires; then only `cancel_request` returns its escrow.
    pub request_ttl_secs: u32,
    /// An LP withdrawal executes at the update that follows its request by
    /// at least this long (so, at least this long after the LP's last deposit).
    pub lp_cooldown_secs: u32,
    /// Fee on LP deposits and withdrawals, left in the pool for the LPs who stay.
    pub lp_fee_bps: u16,
    /// Lamports a request carries for whoever executes it (the requester may).
    pub executor_fee_lamports: u64,
}

impl MarketParams {
    /// The one validation function for market parameters.
    pub fn validate(&self) -> Result<()> {
        let checks: [(bool, &str); 19] = [
            (self.trade_fee_bps <= MAX_TRADE_FEE_BPS, "trade_fee_bps <= 100"),
            (self.funding_max_bps <= MAX_FUNDING_BPS, "funding_max_bps <= 50000"),
            (self.borrow_base_bps <= MAX_BORROW_RATE_BPS, "borrow_base_bps <= 10000"),
            (self.borrow_kink_utilization_bps > 0 && u128::from(self.borrow_kink_utilization_bps) < BPS, "0 < borrow_kink_utilization_bps < 10000"),
            (self.borrow_kink_rate_bps <= self.borrow_max_rate_bps, "borrow_kink_rate_bps <= borrow_max_rate_bps"),
            (self.borrow_max_rate_bps <= MAX_BORROW_MAX_RATE_BPS, "borrow_max_rate_bps <= 100000"),
            (self.insurance_share_bps <= MAX_INSURANCE_SHARE_BPS, "insurance_share_bps <= 5000"),
            (self.side_cap_bps > 0 && self.side_cap_bps <= MAX_CAP_BPS, "0 < side_cap_bps <= 100000"),
            (self.net_cap_bps > 0 && self.net_cap_bps <= self.side_cap_bps, "0 < net_cap_bps <= side_cap_bps"),
            (self.stress_jump_bps > 0 && u128::from(self.stress_jump_bps) < BPS, "0 < stress_jump_bps < 10000"),
            (self.stress_loss_cap_bps > 0 && u128::from(self.stress_loss_cap_bps) <= BPS, "0 < stress_loss_cap_bps <= 10000"),
            (self.max_age_slots > 0 && self.max_age_slots <= MAX_ORACLE_AGE_SLOTS, "0 < max_age_slots <= 1500"),
            (self.max_age_secs > 0 && self.max_age_secs <= MAX_ORACLE_AGE_SECS, "0 < max_age_secs <= 600"),
            (self.max_conf_bps > 0 && self.max_conf_bps <= MAX_CONF_BPS, "0 < max_conf_bps <= 1000"),
            (self.request_delay_secs > 0 && self.request_delay_secs <= MAX_REQUEST_DELAY_SECS, "0 < request_delay_secs <= 60"),
            ((MIN_REQUEST_TTL_SECS..=MAX_REQUEST_TTL_SECS).contains(&self.request_ttl_secs), "10 <= request_ttl_secs <= 86400"),
            (self.lp_cooldown_secs <= MAX_LP_COOLDOWN_SECS, "lp_cooldown_secs <= 604800"),
            (self.lp_fee_bps <= MAX_LP_FEE_BPS, "lp_fee_bps <= 100"),
            (self.executor_fee_lamports <= MAX_EXECUTOR_FEE_LAMPORTS, "executor_fee_lamports <= 10000000"),
        ];
        for (ok, what) in checks {
            if !ok {
                msg!("invalid market params: expected {}, got {:?}", what, self);
                return err!(ErrorCode::InvalidMarketParams);
            }
        }
        Ok(())
    }
}

impl MarketParams {
    /// The funding and borrow curve.
    pub fn rates(&self) -> crate::math::funding::RateParams {
        crate::math::funding::RateParams {
            funding_max_bps: self.funding_max_bps,
            borrow_base_bps: self.borrow_base_bps,
            kink_utilization_bps: self.borrow_kink_utilization_bps,
            kink_rate_bps: self.borrow_kink_rate_bps,
            max_rate_bps: self.borrow_max_rate_bps,
        }
    }

    /// The caps on the net book.
    pub fn caps(&self) -> crate::math::pool::CapParams {
        crate::math::pool::CapParams { side_cap_bps: self.side_cap_bps, net_cap_bps: self.net_cap_bps, stress_jump_bps: self.stress_jump_bps, stress_loss_cap_bps: self.stress_loss_cap_bps }
    }
}

/// Leveraged-token parameters (the target leverage is fixed at creation: it is
/// part of the token's address).
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenParams {
    /// |leverage| band: rebalance when outside [band_min, band_max].
    pub band_min_bps: u32,
    pub band_max_bps: u32,
    /// |leverage| at which a rebalance ignores the per-call cap.
    pub ripcord_bps: u32,
    /// Rebalance when |price / last rebalance price − 1| reaches this.
    pub deviation_bps: u32,
    /// Rebalance on a fixed schedule every `rebalance_period_slots` slots (counted from the
    /// first mint; band, ripcord and deviation rebalances do not move it).
    pub rebalance_period_slots: u64,
    /// Max |notional| per rebalance call (0 = uncapped); the rest continues in
    /// later calls. Never below `MIN_CHUNK_BPS` (10 %) of the target notional:
    /// a smaller value trades that tenth.
    pub max_notional_per_call: u64,
    /// Reward for one trigger episode (a rebalance and its capped
    /// continuations), in collateral units, paid to the callers by share of
    /// the episode's notional...
    pub keeper_reward: u64,
    /// ...and the sum of all rewards within one rebalance period (the window
    /// `slot / rebalance_period_slots`) capped at this fraction of equity.
    pub keeper_reward_cap_bps: u16,
    pub mint_fee_bps: u16,
    pub redeem_fee_bps: u16,
    /// Annual management fee on equity, to the treasury.
    pub streaming_fee_bps: u32,
}

impl TokenParams {
    /// The one validation function for token parameters:
    /// 0.1x ≤ |target| ≤ 10x; band_min ≤ |target| ≤ band_max < ripcord ≤ 2 × 10x;
    /// 0 < deviation < the move that would zero equity at |target| (1/|L|);
    /// rebalance_period_slots ≥ 750 (≈ 5 min); keeper_reward_cap_bps ≤ 100 and
    /// at most 100 bps of equity a day over the periods of a day; fees within caps.
    pub fn validate(&self, target_leverage_bps: i32) -> Result<()> {
        let t = target_leverage_bps.unsigned_abs();

        let per_day = u128::from(self.keeper_reward_cap_bps).checked_mul(u128::from(DAY_SLOTS));
        let room = u128::from(MAX_KEEPER_REWARD_BPS_PER_DAY).checked_mul(u128::from(self.rebalance_period_slots));
        let daily_reward_ok = matches!((per_day, room), (Some(d), Some(r)) if d <= r);
        let checks: [(bool, &str); 10] = [
            ((MIN_LEVERAGE_BPS..=MAX_LEVERAGE_BPS).contains(&t), "1000 <= |target_leverage_bps| <= 100000"),
            (self.band_min_bps <= t && t <= self.band_max_bps, "band_min_bps <= |target| <= band_max_bps"),
            (self.band_max_bps < self.ripcord_bps && self.ripcord_bps <= 2 * MAX_LEVERAGE_BPS, "band_max_bps < ripcord_bps <= 200000"),
            // deviation < 1/|L| (in bps: 1e8 / |target_bps|), compared exactly: deviation × |target| < 1e8.
            (self.deviation_bps > 0 && u128::from(self.deviation_bps).checked_mul(u128::from(t)).is_some_and(|dt| dt < BPS * BPS), "0 < deviation_bps < 10000 * 10000 / |target|"),
            (self.rebalance_period_slots >= MIN_REBALANCE_PERIOD_SLOTS, "rebalance_period_slots >= 750"),
            (daily_reward_ok, "keeper_reward_cap_bps * 216000 <= 100 * rebalance_period_slots (at most 1 % of equity a day)"),
            (self.keeper_reward_cap_bps <= MAX_KEEPER_REWARD_CAP_BPS, "keeper_reward_cap_bps <= 100"),
            (self.mint_fee_bps <= MAX_MINT_REDEEM_FEE_BPS, "mint_fee_bps <= 500"),
            (self.redeem_fee_bps <= MAX_MINT_REDEEM_FEE_BPS, "redeem_fee_bps <= 500"),
            (self.streaming_fee_bps <= MAX_STREAMING_FEE_BPS, "streaming_fee_bps <= 1000"),
        ];
        for (ok, what) in checks {
            if !ok {
                msg!("invalid token params: expected {}, got target {} and {:?}", what, target_leverage_bps, self);
                return err!(ErrorCode::InvalidTokenParams);
            }
        }
        Ok(())
    }

    /// The gate parameters the pure math needs.
    pub fn gate(&self, target_leverage_bps: i32, trade_fee_bps: u16) -> GateParams {
        GateParams { target_leverage_bps: i64::from(target_leverage_bps), trade_fee_bps, token: *self }
    }
}
