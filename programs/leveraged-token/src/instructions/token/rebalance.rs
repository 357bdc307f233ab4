use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use super::position::*;
use crate::constants::PAUSE_REBALANCE;
use crate::errors::ErrorCode;
use crate::events::Rebalanced;
use crate::math::rebalance::{plan_rebalance_with, TRIGGER_TIME};
use crate::settlement::{apply_trade, UnpaidClaim};

#[derive(Accounts)]
pub struct Rebalance<'info> {
    /// Anyone: the gate, not the caller, decides whether a rebalance happens.
    pub caller: Signer<'info>,
    pub position: PositionAccounts<'info>,
    /// Receives the keeper reward.
    #[account(
        mut,
        constraint = caller_collateral.mint == position.market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = !position.is_vault(&caller_collateral.key()) @ ErrorCode::DuplicateAccount,
    )]
    pub caller_collateral: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless rebalance. Reads the oracle by the rebalance price rule: a
/// fresh update (at most the market's max age) may act on the chunk, ripcord,
/// band and deviation triggers; the update for the due schedule's time (and
/// no other) on the schedule, whoever calls and whenever. Settles there, then
/// opens only if an allowed trigger holds; otherwise fails with
/// `RebalanceNotNeeded` and nothing is written. A wipe needs a fresh price. Trades toward target (capped
/// per call unless the ripcord fired), pays the trade fee to the pool and a
/// bounded reward to the caller. A settlement that wipes the token lands here.
pub fn process_rebalance(mut ctx: Context<Rebalance>) -> Result<()> {
    let a = &ctx.accounts;
    require!(!a.position.paused(PAUSE_REBALANCE), ErrorCode::Paused);
    require!(!a.position.token.is_wiped(), ErrorCode::TokenWiped);
    let clock = Clock::get()?;
    let token_key = a.position.token.key();
    let caller = a.caller.key();

    let (rp, s) = ctx.accounts.position.settle_for_rebalance(&clock)?;
    let price = rp.price.price;
    let PositionAccounts { market, token, .. } = &mut ctx.accounts.position;
    let (net, reward) = if s.wiped {
        (s.transfer, 0)
    } else {
        let gate = token.params.gate(token.target_leverage_bps, market.params.trade_fee_bps);
        let state = token.gate_state(s.equity, price.price, clock.slot);
        let Some(plan) = plan_rebalance_with(&gate, &state, rp.allowed)? else {
            return err!(ErrorCode::RebalanceNotNeeded);
        };
        apply_trade(market, token, plan.delta_base, price.price, UnpaidClaim::Keep)?;
        token.chunk_in_progress = plan.capped;
        token.reward_window = plan.rewards.window;
        token.reward_window_paid = plan.rewards.window_paid;
        token.episode_notional = plan.rewards.episode_notional;
        token.episode_reward_paid = plan.rewards.episode_paid;
        token.last_rebalance_price = price.price;
        if let (true, Some(fix)) = (plan.triggers & TRIGGER_TIME != 0, rp.schedule) {
            token.schedule_anchor_slot = fix.anchor_slot;
            token.schedule_anchor_time = fix.anchor_time;
        }
        token.rebalance_count = token.rebalance_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
        token.total_keeper_rewards = token.total_keeper_rewards.saturating_add(plan.keeper_reward);
        token.total_trade_fees = token.total_trade_fees.saturating_add(plan.trade_fee);
        market.owe_insurance_on_trade_fee(plan.trade_fee)?;
        // The plan charges the fee and the reward to the equity it was given.
        let equity_after = s.equity.checked_sub(plan.trade_fee).and_then(|e| e.checked_sub(plan.keeper_reward)).ok_or(ErrorCode::MathOverflow)?;
        crate::emit_event!(Rebalanced {
            token: token_key,
            caller,
            triggers: plan.triggers,
            price: price.price,
            leverage_before_bps: plan.leverage_before_bps,
            leverage_after_bps: plan.leverage_after_bps,
            trade_notional: plan.trade_notional,
            trade_fee: plan.trade_fee,
            keeper_reward: plan.keeper_reward,
            chunk_in_progress: plan.capped,
            equity_after,
            base_after: token.base,
        });
        (s.transfer.checked_sub(i128::from(plan.trade_fee)).ok_or(ErrorCode::MathOverflow)?, plan.keeper_reward)
    };

    let a = &ctx.accounts;
    a.position.move_collateral(&a.token_program, net)?;
    a.position.pay_from_vault(&a.token_program, a.caller_collateral.to_account_info(), reward)?;
    let a = &mut ctx.accounts;
    a.position.finish(&a.token_program, &s, true)
}
