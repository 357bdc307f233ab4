//! Typed instruction builders, one per program instruction.

use anchor_lang::prelude::{Pubkey, System};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{Id, InstructionData, ToAccountMetas};
use anchor_spl::token::Token;
use leveraged_token::{accounts as acc, instruction as data, pda, MarketParams, OracleKind, TokenParams, ID};

use crate::{MarketKeys, TokenKeys};

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id: ID, accounts: accounts.to_account_metas(None), data: data.data() }
}

fn config() -> Pubkey {
    pda::config().0
}

/// The accounts a settlement of `t`'s position uses (mint, redeem, rebalance).
fn position(t: &TokenKeys) -> acc::PositionAccounts {
    acc::PositionAccounts { config: config(), market: t.market.market, token: t.token, oracle: t.market.oracle, token_vault: t.vault, pool_vault: t.market.pool_vault }
}

/// The accounts of an LP's deposit or withdrawal.
fn liquidity(m: &MarketKeys, owner_collateral: Pubkey, owner_lp: Pubkey) -> acc::LiquidityAccounts {
    acc::LiquidityAccounts { config: config(), market: m.market, oracle: m.oracle, pool_vault: m.pool_vault, lp_mint: m.lp_mint, owner_collateral, owner_lp }
}

/// Create the config; `param_delay_secs` is the timelock on every parameter
/// change (at least a day unless the program was built with `local-cluster`).
pub fn initialize_config(admin: Pubkey, treasury: Pubkey, param_delay_secs: i64) -> Instruction {
    build(acc::InitializeConfig { admin, config: config(), system_program: System::id() }, data::InitializeConfig { treasury, param_delay_secs })
}

pub fn propose_admin(admin: Pubkey, new_admin: Pubkey) -> Instruction {
    build(acc::ProposeAdmin { admin, config: config() }, data::ProposeAdmin { new_admin })
}

pub fn accept_admin(new_admin: Pubkey) -> Instruction {
    build(acc::AcceptAdmin { new_admin, config: config() }, data::AcceptAdmin {})
}

pub fn set_global_pause(admin: Pubkey, mask: u8, paused: bool) -> Instruction {
    build(acc::SetGlobalPause { admin, config: config() }, data::SetGlobalPause { mask, paused })
}

pub fn set_market_pause(admin: Pubkey, market: Pubkey, mask: u8, paused: bool) -> Instruction {
    build(acc::MarketAdmin { admin, config: config(), market }, data::SetMarketPause { mask, paused })
}

pub fn set_token_pause(admin: Pubkey, token: Pubkey, mask: u8, paused: bool) -> Instruction {
    build(acc::TokenAdmin { admin, config: config(), token }, data::SetTokenPause { mask, paused })
}

pub fn propose_market_params(admin: Pubkey, market: Pubkey, params: MarketParams) -> Instruction {
    let proposal = pda::param_proposal(&market).0;
    build(acc::ProposeMarketParams { admin, config: config(), market, proposal, system_program: System::id() }, data::ProposeMarketParams { params })
}

pub fn propose_token_params(admin: Pubkey, token: Pubkey, params: TokenParams) -> Instruction {
    let proposal = pda::param_proposal(&token).0;
    build(acc::ProposeTokenParams { admin, config: config(), token, proposal, system_program: System::id() }, data::ProposeTokenParams { params })
}

/// Apply `market`'s pending change (anyone, once due); `proposer` gets the rent back.
pub fn apply_market_params(market: Pubkey, proposer: Pubkey) -> Instruction {
    let proposal = pda::param_proposal(&market).0;
    build(acc::ApplyMarketParams { config: config(), market, proposal, proposer }, data::ApplyMarketParams {})
}

/// Apply `t`'s pending change (anyone, once due): the token settles first.
pub fn apply_token_params(t: &TokenKeys, proposer: Pubkey) -> Instruction {
    let proposal = pda::param_proposal(&t.token).0;
    build(acc::ApplyTokenParams { position: position(t), proposal, proposer, token_program: Token::id() }, data::ApplyTokenParams {})
}

/// Withdraw the pending change of `target` (a market or token).
pub fn cancel_param_proposal(admin: Pubkey, target: Pubkey, proposer: Pubkey) -> Instruction {
    let proposal = pda::param_proposal(&target).0;
    build(acc::CancelParamProposal { admin, config: config(), proposal, proposer }, data::CancelParamProposal {})
}

/// `trusted_freeze_authority`: the collateral mint's freeze authority the
/// admin accepts (`None` for a mint without one; a mint with one is refused
/// unless this names it).
pub fn create_market(admin: Pubkey, m: &MarketKeys, oracle_kind: OracleKind, params: MarketParams, trusted_freeze_authority: Option<Pubkey>) -> Instruction {
    build(
        acc::CreateMarket {
            admin,
            config: config(),
            collateral_mint: m.collateral_mint,
            oracle: m.oracle,
            market: m.market,
            pool_vault: m.pool_vault,
            lp_mint: m.lp_mint,
            token_program: Token::id(),
            system_program: System::id(),
        },
        data::CreateMarket { oracle_kind, oracle_id: m.oracle_id, params, trusted_freeze_authority },
    )
}

pub fn deposit_liquidity(owner: Pubkey, m: &MarketKeys, owner_collateral: Pubkey, owner_lp: Pubkey, amount: u64, min_lp_out: u64) -> Instruction {
    build(acc::DepositLiquidity { owner, liquidity: liquidity(m, owner_collateral, owner_lp), token_program: Token::id() }, data::DepositLiquidity { amount, min_lp_out })
}

pub fn withdraw_liquidity(owner: Pubkey, m: &MarketKeys, owner_collateral: Pubkey, owner_lp: Pubkey, lp_amount: u64, min_out: u64) -> Instruction {
    build(acc::WithdrawLiquidity { owner, liquidity: liquidity(m, owner_collateral, owner_lp), token_program: Token::id() }, data::WithdrawLiquidity { lp_amount, min_out })
}

pub fn create_leveraged_token(admin: Pubkey, t: &TokenKeys, params: TokenParams) -> Instruction {
    build(
        acc::CreateLeveragedToken {
            admin,
            config: config(),
            market: t.market.market,
            collateral_mint: t.market.collateral_mint,
            token: t.token,
            share_mint: t.share_mint,
            vault: t.vault,
            token_program: Token::id(),
            system_program: System::id(),
        },
        data::CreateLeveragedToken { target_leverage_bps: t.target_leverage_bps, params },
    )
}

pub fn mint(user: Pubkey, t: &TokenKeys, user_collateral: Pubkey, user_shares: Pubkey, collateral_amount: u64, min_shares_out: u64) -> Instruction {
    build(acc::MintShares { user, position: position(t), share_mint: t.share_mint, user_collateral, user_shares, token_program: Token::id() }, data::Mint { collateral_amount, min_shares_out })
}

pub fn redeem(user: Pubkey, t: &TokenKeys, user_shares: Pubkey, user_collateral: Pubkey, shares: u64, min_collateral_out: u64) -> Instruction {
    build(acc::RedeemShares { user, position: position(t), share_mint: t.share_mint, user_shares, user_collateral, token_program: Token::id() }, data::Redeem { shares, min_collateral_out })
}

pub fn rebalance(caller: Pubkey, t: &TokenKeys, caller_collateral: Pubkey) -> Instruction {
    build(acc::Rebalance { caller, position: position(t), caller_collateral, token_program: Token::id() }, data::Rebalance {})
}

pub fn collect_fees(t: &TokenKeys, treasury_collateral: Pubkey) -> Instruction {
    build(acc::CollectFees { config: config(), market: t.market.market, token: t.token, token_vault: t.vault, treasury_collateral, token_program: Token::id() }, data::CollectFees {})
}
