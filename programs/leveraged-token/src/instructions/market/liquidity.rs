//! The accounts of an LP's entry to or exit from a market's pool, shared by
//! execute_deposit and execute_withdraw (a nested `Accounts` struct: each
//! relationship check is written here once, and the five accounts keep their
//! place in both instructions' account lists). The LP's own accounts are the
//! request's ([`RequestAccounts`](crate::instructions::request::RequestAccounts)).

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, TokenAccount};

use crate::constants::{CONFIG_SEED, PAUSE_LIQUIDITY};
use crate::errors::ErrorCode;
use crate::math::pool::Side;
use crate::math::price::NormalizedPrice;
use crate::pause::paused;
use crate::settlement::market_pool_value;
use crate::state::{Config, LeveragedToken, Market};

/// A market, its oracle, its pool vault and LP mint.
#[derive(Accounts)]
pub struct PoolAccounts<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: validated by `oracle::read_sample_at` against the market and the request's price time.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.lp_mint @ ErrorCode::WrongLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
}

impl<'info> PoolAccounts<'info> {
    /// Whether liquidity is paused globally or on this market.
    pub fn paused(&self) -> bool {
        paused(self.config.pause_flags, self.market.pause_flags, 0, PAUSE_LIQUIDITY)
    }

    /// Value the pool honestly ([`market_pool_value`]: every token's loss
    /// at most its vault) at `price` on `side` of its confidence interval
    /// (the side worse for the LP) at `now`, then accrue `market` (a copy of
    /// this pool's, committed only by a fill) to `now`. `remaining` holds
    /// every token of the market and its vault, in pairs.
    pub fn value_at(&self, market: &mut Market, remaining: &[AccountInfo], price: &NormalizedPrice, side: Side, now: i64) -> Result<u128> {
        let tokens = load_market_tokens(&self.market.key(), market.token_count, remaining)?;
        let refs: Vec<(&LeveragedToken, u64)> = tokens.iter().map(|(t, v)| (t, *v)).collect();
        let value = market_pool_value(market, &refs, self.pool_vault.amount, price, side, now)?;
        market.accrue(now, self.pool_vault.amount)?;
        Ok(value)
    }
}

/// Every token of `market` and its vault's balance, from `remaining` in
/// (token, vault) pairs: exactly `token_count` distinct tokens of this market,
/// each with its own vault; anything else is `MarketTokensMismatch`.
pub fn load_market_tokens(market: &Pubkey, token_count: u32, remaining: &[AccountInfo]) -> Result<Vec<(LeveragedToken, u64)>> {
    let n = usize::try_from(token_count).map_err(|_| error!(ErrorCode::MathOverflow))?;
    if remaining.len() != n.checked_mul(2).ok_or(ErrorCode::MathOverflow)? {
        msg!("expected {} tokens and their vaults ({} accounts), got {} accounts", n, n.saturating_mul(2), remaining.len());
        return err!(ErrorCode::MarketTokensMismatch);
    }
    let mut out = Vec::with_capacity(n);
    let mut keys: Vec<Pubkey> = Vec::with_capacity(n);
    for pair in remaining.chunks_exact(2) {
        let [token_info, vault_info] = pair else { return err!(ErrorCode::MarketTokensMismatch) };
        if token_info.owner != &crate::ID || keys.contains(token_info.key) {
            msg!("{} is not a distinct token account of this program", token_info.key);
            return err!(ErrorCode::MarketTokensMismatch);
        }
        let token = LeveragedToken::try_deserialize(&mut &token_info.try_borrow_data()?[..]).map_err(|_| error!(ErrorCode::MarketTokensMismatch))?;
        if token.market != *market || token.vault != *vault_info.key || vault_info.owner != &anchor_spl::token::ID {
            msg!("token {} is not this market's, or {} is not its vault", token_info.key, vault_info.key);
            return err!(ErrorCode::MarketTokensMismatch);
        }
        let vault = TokenAccount::try_deserialize(&mut &vault_info.try_borrow_data()?[..]).map_err(|_| error!(ErrorCode::MarketTokensMismatch))?;
        keys.push(*token_info.key);
        out.push((token, vault.amount));
    }
    Ok(out)
}
