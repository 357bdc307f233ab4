//! The accounts that settle a token's position against its market's pool,
//! shared by execute_mint, execute_redeem, rebalance and apply_token_params (a nested `Accounts` struct: each
//! relationship check is written here once, and the seven accounts keep their
//! place in each instruction's account list).

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::CONFIG_SEED;
use crate::errors::ErrorCode;
use crate::events::InsuranceFunded;
use crate::math::price::NormalizedPrice;
use crate::oracle;
use crate::pause::paused;
use crate::settlement::{settle_position, transfer_signed, MarketSigner, SettleAt, Settlement, TokenSigner};
use crate::state::{Config, LeveragedToken, Market};

/// A token, its market, the market's oracle, the token's vault, the pool
/// vault and the insurance vault: what a settlement reads and writes.
#[derive(Accounts)]
pub struct PositionAccounts<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    #[account(mut, has_one = market @ ErrorCode::WrongMarket)]
    pub token: Box<Account<'info, LeveragedToken>>,
    /// CHECK: validated by `oracle::read_fresh_price` against the market (redeem does not read it for a wiped token).
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = token.vault @ ErrorCode::WrongVault)]
    pub token_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.insurance_vault @ ErrorCode::WrongVault)]
    pub insurance_vault: Box<Account<'info, TokenAccount>>,
}

impl<'info> PositionAccounts<'info> {
    /// Whether `flag` (`PAUSE_*`) is set on the config, the market or the token.
    pub fn paused(&self, flag: u8) -> bool {
        paused(self.config.pause_flags, self.market.pause_flags, self.token.pause_flags, flag)
    }

    /// Whether `account` is one of the two vaults (a user's or caller's
    /// collateral account must be neither).
    pub fn is_vault(&self, account: &Pubkey) -> bool {
        *account == self.token_vault.key() || *account == self.pool_vault.key() || *account == self.insurance_vault.key()
    }

    /// The balances and time a settlement reads.
    pub fn settle_at(&self, clock: &Clock) -> SettleAt {
        SettleAt { vault_amount: self.token_vault.amount, pool_amount: self.pool_vault.amount, insurance_amount: self.insurance_vault.amount, slot: clock.slot, now: clock.unix_timestamp }
    }

    /// Read the oracle and settle the position at its price
    /// ([`settle_position`]): state only, the caller moves the collateral.
    pub fn settle(&mut self, clock: &Clock) -> Result<(NormalizedPrice, Settlement)> {
        let at = self.settle_at(clock);
        let token_key = self.token.key();
        let price = oracle::read_fresh_price(&mut self.market, &self.oracle.to_account_info(), clock)?;
        let s = settle_position(&mut self.market, &mut self.token, token_key, &price, &at)?;
        Ok((price, s))
    }

    /// Read the oracle by the rebalance price rule ([`oracle::rebalance_price`]),
    /// record a fresh price as the market's last used, and settle there. A
    /// settlement that would wipe the token needs a fresh price.
    pub fn settle_for_rebalance(&mut self, clock: &Clock) -> Result<(oracle::RebalancePrice, Settlement)> {
        let at = self.settle_at(clock);
        let token_key = self.token.key();
        let schedule = self.token.schedule_fix(self.market.oracle_kind, clock.slot);
        let oracle_info = self.oracle.to_account_info();
        let rp = {
            let data = oracle_info.try_borrow_data()?;
            oracle::rebalance_price(&self.market.oracle_spec(), oracle_info.key, oracle_info.owner, &data, clock, schedule).map_err(|issue| {
                msg!("{}", issue);
                error!(issue.error_code())
            })?
        };
        if rp.fresh {
            self.market.last_oracle_publish = rp.price.published;
        } else {
            let p = crate::settlement::preview_settlement(&self.market, &self.token, &rp.price.price, &at)?;
            if p.outcome.wiped {
                msg!("the update for the schedule's time would wipe the token; a wipe needs a fresh price");
                return err!(ErrorCode::WipeNeedsFreshPrice);
            }
        }
        let s = settle_position(&mut self.market, &mut self.token, token_key, &rp.price.price, &at)?;
        Ok((rp, s))
    }

    /// Move `net` collateral in one transfer: positive pool → token vault
    /// (signed by the market), negative token vault → pool (signed by the token).
    pub fn move_collateral(&self, token_program: &Program<'info, Token>, net: i128) -> Result<()> {
        let amount = u64::try_from(net.unsigned_abs()).map_err(|_| error!(ErrorCode::MathOverflow))?;
        if net > 0 {
            let signer = MarketSigner::new(&self.market);
            transfer_signed(token_program, self.pool_vault.to_account_info(), self.token_vault.to_account_info(), self.market.to_account_info(), &signer.seeds(), amount)
        } else {
            self.pay_from_vault(token_program, self.pool_vault.to_account_info(), amount)
        }
    }

    /// After a settling instruction's own transfers: the insurance fund's
    /// part of a bad debt from its vault to the pool vault, then, if `sweep`,
    /// the insurance's share owed moved from the pool vault to its vault (as
    /// much as the pool vault holds), with [`InsuranceFunded`]. Only
    /// `rebalance` and `apply_token_params` sweep: a user's mint or redeem
    /// pays no extra transfer, and the share owed meanwhile stays out of the
    /// LPs' cash (`Market::lp_cash`). A mint or redeem never wipes (a wipe
    /// needs a fresh price, in a rebalance), so for them this moves nothing.
    pub fn finish(&mut self, token_program: &Program<'info, Token>, s: &Settlement, sweep: bool) -> Result<()> {
        let signer = MarketSigner::new(&self.market);
        let market_info = self.market.to_account_info();
        transfer_signed(token_program, self.insurance_vault.to_account_info(), self.pool_vault.to_account_info(), market_info.clone(), &signer.seeds(), s.insurance_transfer)?;
        if !sweep {
            return Ok(());
        }
        self.pool_vault.reload()?;
        let amount = self.market.insurance_owed.min(self.pool_vault.amount);
        if amount == 0 {
            return Ok(());
        }
        transfer_signed(token_program, self.pool_vault.to_account_info(), self.insurance_vault.to_account_info(), market_info, &signer.seeds(), amount)?;
        self.market.insurance_owed = self.market.insurance_owed.checked_sub(amount).ok_or(ErrorCode::MathOverflow)?;
        self.insurance_vault.reload()?;
        crate::emit_event!(InsuranceFunded { market: self.market.key(), amount, insurance_balance_after: self.insurance_vault.amount });
        Ok(())
    }

    /// Pay `amount` from the token vault to `to`, signed by the token.
    pub fn pay_from_vault(&self, token_program: &Program<'info, Token>, to: AccountInfo<'info>, amount: u64) -> Result<()> {
        let signer = TokenSigner::new(&self.token);
        transfer_signed(token_program, self.token_vault.to_account_info(), to, self.token.to_account_info(), &signer.seeds(), amount)
    }
}
