use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::{CONFIG_SEED, PAUSE_REBALANCE};
use crate::errors::ErrorCode;
use crate::events::Rebalanced;
use crate::math::rebalance::plan_rebalance;
use crate::oracle;
use crate::pause::paused;
use crate::settlement::{apply_trade, move_collateral, settle_position, transfer_signed, CollateralLeg, MarketSigner, TokenSigner, UnpaidClaim};
use crate::state::{Config, LeveragedToken, Market};

#[derive(Accounts)]
pub struct Rebalance<'info> {
    /// Anyone: the gate, not the caller, decides whether a rebalance happens.
    pub caller: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    #[account(mut, has_one = market @ ErrorCode::WrongMarket)]
    pub token: Box<Account<'info, LeveragedToken>>,
    /// CHECK: validated by `oracle::read_fresh_price` against the market.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = token.vault @ ErrorCode::WrongVault)]
    pub token_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    /// Receives the keeper reward.
    #[account(
        mut,
        constraint = caller_collateral.mint == market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = caller_collateral.key() != token_vault.key() @ ErrorCode::DuplicateAccount,
        constraint = caller_collateral.key() != pool_vault.key() @ ErrorCode::DuplicateAccount,
    )]
    pub caller_collateral: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless rebalance. Settles, then opens only if a trigger holds
/// (chunk in progress, ripcord, band, deviation, time); otherwise fails with
/// `RebalanceNotNeeded` and nothing is written. Trades toward target (capped
/// per call unless the ripcord fired), pays the trade fee to the pool and a
/// bounded reward to the caller. A settlement that wipes the token lands here.
pub fn process_rebalance(ctx: Context<Rebalance>) -> Result<()> {
    let a = &ctx.accounts;
    require!(!paused(a.config.pause_flags, a.market.pause_flags, a.token.pause_flags, PAUSE_REBALANCE), ErrorCode::Paused);
    require!(!a.token.is_wiped(), ErrorCode::TokenWiped);
    let clock = Clock::get()?;
    let (vault_amount, pool_amount) = (a.token_vault.amount, a.pool_vault.amount);
    let token_key = a.token.key();
    let caller = a.caller.key();
    let oracle_info = a.oracle.to_account_info();

    let market = &mut ctx.accounts.market;
    let price = oracle::read_fresh_price(market, &oracle_info, &clock)?;
    let token = &mut ctx.accounts.token;
    let s = settle_position(market, token, token_key, &price, vault_amount, pool_amount, clock.slot)?;
    let (net, reward) = if s.wiped {
        (s.transfer, 0)
    } else {
        let gate = token.params.gate(token.target_leverage_bps, market.params.trade_fee_bps);
        let state = token.gate_state(s.equity, price.price, clock.slot);
        let Some(plan) = plan_rebalance(&gate, &state)? else {
            return err!(ErrorCode::RebalanceNotNeeded);
        };
        apply_trade(market, token, plan.delta_base, price.price, UnpaidClaim::Keep)?;
        token.chunk_in_progress = plan.capped;
        token.last_rebalance_price = price.price;
        token.schedule_anchor_slot = crate::math::rebalance::next_schedule_anchor(&gate, &state, plan.triggers);
        token.rebalance_count += 1;
        token.total_keeper_rewards = token.total_keeper_rewards.saturating_add(plan.keeper_reward);
        token.total_trade_fees = token.total_trade_fees.saturating_add(plan.trade_fee);
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
            equity_after: s.equity - plan.trade_fee - plan.keeper_reward,
            base_after: token.base,
        });
        (s.transfer - i128::from(plan.trade_fee), plan.keeper_reward)
    };

    let a = &ctx.accounts;
    let token_signer = TokenSigner::new(&a.token);
    let market_signer = MarketSigner::new(&a.market);
    let leg = CollateralLeg {
        token_program: &a.token_program,
        token_vault: a.token_vault.to_account_info(),
        pool_vault: a.pool_vault.to_account_info(),
        token: a.token.to_account_info(),
        market: a.market.to_account_info(),
        token_signer: &token_signer,
        market_signer: &market_signer,
    };
    move_collateral(&leg, net)?;
    transfer_signed(&a.token_program, a.token_vault.to_account_info(), a.caller_collateral.to_account_info(), a.token.to_account_info(), &token_signer.seeds(), reward)?;
    Ok(())
}
