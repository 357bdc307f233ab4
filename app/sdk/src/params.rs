//! The one list of each parameter struct's fields, in the program's order.
//!
//! `with_token_param_fields!(m!(args))` expands to `m! { args; TokenParams; <fields> }`
//! where each field is `name: type [plain|amount] "help",` — `amount` fields
//! are collateral base units that people write in UI units. Every per-field
//! listing off-chain is generated from these lists: the deploy TOML specs and
//! their diff ([`crate::deploy`]), and `lt`'s flags, their overlay and their
//! display. Each generator builds the program's struct with a struct literal,
//! so a field added to the program and not here fails to compile.

/// Every `TokenParams` field (see the module docs).
#[macro_export]
macro_rules! with_token_param_fields {
    ($m:ident ! ($($args:tt)*)) => {
        $m! { $($args)*; TokenParams;
            band_min_bps: u32 [plain] "|leverage| band floor, bps of 1x: below it a rebalance re-levers (0 = never).",
            band_max_bps: u32 [plain] "|leverage| band ceiling, bps of 1x: above it a rebalance de-levers.",
            ripcord_bps: u32 [plain] "|leverage| at which a rebalance ignores the per-call trade cap, bps of 1x.",
            deviation_bps: u32 [plain] "Rebalance when |price / last rebalance price - 1| reaches this, in bps.",
            rebalance_period_slots: u64 [plain] "Rebalance period in slots: a fixed schedule from the first mint.",
            max_notional_per_call: u64 [amount] "Largest notional traded per rebalance call, in collateral (0 = uncapped; never below 10 % of the target notional).",
            keeper_reward: u64 [amount] "Reward for one trigger episode (a rebalance and its chunks), in collateral, shared by its callers.",
            keeper_reward_cap_bps: u16 [plain] "Cap on all keeper rewards within one rebalance period, in bps of the token's equity (at most 1 % a day).",
            mint_fee_bps: u16 [plain] "Mint fee, in bps of the collateral paid in, to the treasury.",
            redeem_fee_bps: u16 [plain] "Redeem fee, in bps of the collateral paid out, to the treasury.",
            streaming_fee_bps: u32 [plain] "Annual management fee on equity, in bps, to the treasury.",
        }
    };
}

/// Every `MarketParams` field (see the module docs).
#[macro_export]
macro_rules! with_market_param_fields {
    ($m:ident ! ($($args:tt)*)) => {
        $m! { $($args)*; MarketParams;
            trade_fee_bps: u16 [plain] "Fee on every notional traded against the pool, in bps, to the pool.",
            funding_max_bps: u32 [plain] "Funding per year at full skew, in bps: the heavier side pays F_max × skew, the lighter side receives it.",
            borrow_base_bps: u32 [plain] "Borrow fee per year both sides pay on their notional whatever the skew, in bps, to the pool.",
            borrow_kink_utilization_bps: u32 [plain] "Utilisation (|net| / pool cash, bps) where the heavier side's borrow curve turns steep.",
            borrow_kink_rate_bps: u32 [plain] "The heavier side's borrow per year at the kink, in bps, on top of the base.",
            borrow_max_rate_bps: u32 [plain] "The heavier side's borrow per year at 100 % utilisation, in bps, on top of the base.",
            insurance_share_bps: u16 [plain] "Share of trade fees and of the pool's funding and borrow income paid to the insurance fund, in bps.",
            side_cap_bps: u32 [plain] "Each side's notional cap, in bps of pool value (a mint that shrinks |net| is never capped).",
            net_cap_bps: u32 [plain] "|Net notional| cap, in bps of pool value; also limits LP withdrawals.",
            stress_jump_bps: u32 [plain] "The stress jump J* a token's loss beyond equity is measured in, in bps of price.",
            stress_loss_cap_bps: u32 [plain] "Most a token may leave beyond its equity in the stress jump, in bps of pool value.",
            max_age_slots: u64 [plain] "Legacy oracle: max age of a price that acts now (band, ripcord, deviation rebalances, wipes), in slots.",
            max_age_secs: i64 [plain] "Pull oracle: max age of a price that acts now (band, ripcord, deviation rebalances, wipes), in seconds.",
            max_conf_bps: u16 [plain] "Max oracle confidence half-width, in bps of price.",
            request_delay_secs: u16 [plain] "A request executes at the oracle update that follows it by this many seconds.",
            request_ttl_secs: u32 [plain] "Seconds a request stays executable after its price time; then only cancel returns it.",
            lp_cooldown_secs: u32 [plain] "An LP withdrawal executes at the update this many seconds after its request.",
            lp_fee_bps: u16 [plain] "Fee on LP deposits and withdrawals, in bps, left to the LPs who stay.",
            executor_fee_lamports: u64 [plain] "Lamports each request carries for whoever executes it.",
        }
    };
}

/// Generates, for one parameter struct: the deploy spec (every field
/// optional, unknown keys refused), its overlay on a base value, the field
/// names, their values, and the field-by-field diff.
macro_rules! param_spec {
    ($spec:ident, $diff:ident, $values:ident; $params:ident; $($f:ident: $t:ty [$kind:ident] $doc:literal,)*) => {
        #[doc = concat!("[`", stringify!($params), "`] with every field optional (deploy TOML): omitted ones keep the base value.")]
        #[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct $spec {
            $( #[doc = $doc] pub $f: Option<$t>, )*
        }

        impl $spec {
            /// The field names, in the program's order.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($f)),*];

            /// `base` with every field this spec sets replaced.
            pub fn overlay(&self, base: $params) -> $params {
                $params { $( $f: self.$f.unwrap_or(base.$f), )* }
            }
        }

        /// Each field whose value differs, with both values.
        pub fn $diff(old: &$params, new: &$params) -> Vec<$crate::deploy::FieldDiff> {
            let mut v = Vec::new();
            $( if old.$f != new.$f { v.push($crate::deploy::FieldDiff { field: stringify!($f), old: old.$f.to_string(), new: new.$f.to_string() }); } )*
            v
        }

        /// Every field's name and value, in order.
        pub fn $values(p: &$params) -> Vec<(&'static str, i128)> {
            vec![$( (stringify!($f), i128::from(p.$f)) ),*]
        }
    };
}

use crate::{MarketParams, TokenParams};

with_token_param_fields!(param_spec!(TokenParamsSpec, diff_token_params, token_param_values));
with_market_param_fields!(param_spec!(MarketParamsSpec, diff_market_params, market_param_values));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults;

    #[test]
    fn the_field_lists_cover_every_field_of_the_program_structs_in_order() {
        // Borsh writes fields in declaration order: the lists' values, written
        // at their widths, must be the struct's serialisation byte for byte.
        let t = defaults::token_params(30_000, 1_000_000);
        let m = defaults::market_params();
        assert_eq!(TokenParamsSpec::FIELDS.len(), 11);
        assert_eq!(MarketParamsSpec::FIELDS.len(), 19);
        assert_eq!(token_param_values(&t).iter().map(|(n, _)| *n).collect::<Vec<_>>(), TokenParamsSpec::FIELDS);
        assert_eq!(market_param_values(&m).iter().map(|(n, _)| *n).collect::<Vec<_>>(), MarketParamsSpec::FIELDS);
        assert_eq!(diff_token_params(&t, &t), vec![]);
        assert_eq!(TokenParamsSpec::default().overlay(t), t);
        assert_eq!(MarketParamsSpec::default().overlay(m), m);
    }
}
