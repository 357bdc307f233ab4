//! Typed instruction builders, one per program instruction.

use anchor_lang::prelude::{Pubkey, System};
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::{Id, InstructionData, ToAccountMetas};
use anchor_spl::token::Token;
use leveraged_token::state::RequestKind;
use leveraged_token::{accounts as acc, instruction as data, pda, MarketParams, OracleKind, TokenParams, ID};

use crate::{MarketKeys, RequestKeys, TokenKeys};

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id: ID, accounts: accounts.to_account_metas(None), data: data.data() }
}

fn config() -> Pubkey {
    pda::config().0
}

/// The accounts a settlement of `t`'s position uses (mint, redeem, rebalance).
fn position(t: &TokenKeys) -> acc::PositionAccounts {
    acc::PositionAccounts {
        config: config(),
        market: t.market.market,
        token: t.token,
        oracle: t.market.oracle,
        token_vault: t.vault,
        pool_vault: t.market.pool_vault,
        insurance_vault: t.market.insurance_vault,
    }
}

/// The accounts of an LP request's execution.
fn pool(m: &MarketKeys, oracle: Pubkey) -> acc::PoolAccounts {
    acc::PoolAccounts { config: config(), market: m.market, oracle, pool_vault: m.pool_vault, lp_mint: m.lp_mint }
}

/// The accounts every `request_*` shares.
fn open(r: &RequestKeys, market: Pubkey) -> acc::OpenAccounts {
    acc::OpenAccounts {
        owner: r.owner,
        config: config(),
        market,
        request: r.request,
        escrow: r.escrow,
        pay_mint: r.pay_mint,
        source: r.source,
        destination: r.destination,
        token_program: Token::id(),
        system_program: System::id(),
    }
}

/// The accounts every `execute_*` and `cancel_request` share.
fn request_accounts(r: &RequestKeys, executor: Pubkey) -> acc::RequestAccounts {
    acc::RequestAccounts { request: r.request, executor, owner: r.owner, escrow: r.escrow, destination: r.destination, refund_to: r.source, token_program: Token::id() }
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
    build(acc::ApplyMarketParams { config: config(), market, pool_vault: pda::pool_vault(&market).0, proposal, proposer }, data::ApplyMarketParams {})
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
            insurance_vault: m.insurance_vault,
            token_program: Token::id(),
            system_program: System::id(),
        },
        data::CreateMarket { oracle_kind, oracle_id: m.oracle_id, params, trusted_freeze_authority },
    )
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

/// Step one of a mint: escrow `collateral_amount` from the owner's
/// associated collateral account; shares go to its associated share account.
pub fn request_mint(owner: Pubkey, t: &TokenKeys, nonce: u64, collateral_amount: u64, min_shares_out: u64) -> Instruction {
    let r = RequestKeys::of(RequestKind::Mint, owner, nonce, &t.market, Some(t.share_mint));
    build(acc::RequestMint { open: open(&r, t.market.market), token: t.token }, data::RequestMint { nonce, collateral_amount, min_shares_out })
}

/// Step one of a redeem: escrow `shares`.
pub fn request_redeem(owner: Pubkey, t: &TokenKeys, nonce: u64, shares: u64, min_collateral_out: u64) -> Instruction {
    let r = RequestKeys::of(RequestKind::Redeem, owner, nonce, &t.market, Some(t.share_mint));
    build(acc::RequestRedeem { open: open(&r, t.market.market), token: t.token }, data::RequestRedeem { nonce, shares, min_collateral_out })
}

/// Step one of an LP deposit: escrow `amount` of collateral.
pub fn request_deposit(owner: Pubkey, m: &MarketKeys, nonce: u64, amount: u64, min_lp_out: u64) -> Instruction {
    let r = RequestKeys::of(RequestKind::Deposit, owner, nonce, m, None);
    build(acc::RequestDeposit { open: open(&r, m.market) }, data::RequestDeposit { nonce, amount, min_lp_out })
}

/// Step one of an LP withdrawal: escrow `lp_amount` of LP shares.
pub fn request_withdraw(owner: Pubkey, m: &MarketKeys, nonce: u64, lp_amount: u64, min_out: u64) -> Instruction {
    let r = RequestKeys::of(RequestKind::Withdraw, owner, nonce, m, None);
    build(acc::RequestWithdraw { open: open(&r, m.market) }, data::RequestWithdraw { nonce, lp_amount, min_out })
}

/// Execute `owner`'s request `nonce` of `kind` with the update in `oracle`
/// (it must be the one for the request's price time). `t` is the token of
/// a mint or redeem; LP requests value the pool on every token of the
/// market: `market_tokens` (all of them, any order; ignored for a mint or
/// redeem), passed as (token, vault) pairs after the named accounts.
#[allow(clippy::too_many_arguments)] // one per account group of the instruction
pub fn execute(executor: Pubkey, kind: RequestKind, owner: Pubkey, nonce: u64, m: &MarketKeys, t: Option<&TokenKeys>, oracle: Pubkey, market_tokens: &[TokenKeys]) -> Instruction {
    let r = RequestKeys::of(kind, owner, nonce, m, t.map(|t| t.share_mint));
    let request = request_accounts(&r, executor);
    let position = |t: &TokenKeys| acc::PositionAccounts { oracle, ..position(t) };
    match (kind, t) {
        (RequestKind::Mint, Some(t)) => build(acc::ExecuteMint { request, position: position(t), share_mint: t.share_mint }, data::ExecuteMint {}),
        (RequestKind::Redeem, Some(t)) => build(acc::ExecuteRedeem { request, position: position(t), share_mint: t.share_mint }, data::ExecuteRedeem {}),
        (RequestKind::Deposit, _) => with_market_tokens(build(acc::ExecuteDeposit { request, pool: pool(m, oracle) }, data::ExecuteDeposit {}), market_tokens),
        (RequestKind::Withdraw, _) => with_market_tokens(build(acc::ExecuteWithdraw { request, pool: pool(m, oracle) }, data::ExecuteWithdraw {}), market_tokens),
        (_, None) => panic!("a {} request needs its token's keys", kind.name()),
    }
}

/// Append every token of the market and its vault (read-only pairs): the
/// remaining accounts of an LP deposit's or withdrawal's execution.
pub fn with_market_tokens(mut ix: Instruction, market_tokens: &[TokenKeys]) -> Instruction {
    for t in market_tokens {
        ix.accounts.push(AccountMeta::new_readonly(t.token, false));
        ix.accounts.push(AccountMeta::new_readonly(t.vault, false));
    }
    ix
}

/// Cancel `owner`'s expired request `nonce` of `kind` (anyone may send it).
pub fn cancel_request(caller: Pubkey, kind: RequestKind, owner: Pubkey, nonce: u64, m: &MarketKeys, share_mint: Option<Pubkey>) -> Instruction {
    let r = RequestKeys::of(kind, owner, nonce, m, share_mint);
    build(acc::CancelRequest { request: request_accounts(&r, caller) }, data::CancelRequest {})
}

/// Create `owner`'s associated token account of `mint` if it does not exist
/// (an executor sends it before an execution whose destination is missing).
pub fn create_associated_token_account(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction {
    anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(&payer, &owner, &mint, &Token::id())
}

pub fn rebalance(caller: Pubkey, t: &TokenKeys, caller_collateral: Pubkey) -> Instruction {
    build(acc::Rebalance { caller, position: position(t), caller_collateral, token_program: Token::id() }, data::Rebalance {})
}

pub fn collect_fees(t: &TokenKeys, treasury_collateral: Pubkey) -> Instruction {
    build(acc::CollectFees { config: config(), market: t.market.market, token: t.token, token_vault: t.vault, treasury_collateral, token_program: Token::id() }, data::CollectFees {})
}
