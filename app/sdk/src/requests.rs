//! Pending requests as clients see them: where a request stands (waiting for
//! its price time, executable, expired) and the instructions that execute or
//! cancel it. The keeper, `lt` and the bank's tests all use these, so no
//! client has its own idea of when a request can execute.

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{AccountDeserialize, Discriminator};
use leveraged_token::state::{OracleKind, Request, RequestKind};

use crate::{ix, MarketKeys, TokenKeys};

/// Where a request stands at a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStage {
    /// Its price time has not come: `wait` more seconds (pull) or slots (legacy).
    Waiting { wait: i64 },
    /// Executable with the update for its price time, until `expires_at`.
    Executable,
    /// Past its expiry: only `cancel_request` closes it.
    Expired,
}

/// The stage of `r` on a market whose oracle is `oracle_kind`, at `clock`
/// (the program's expiry rule, `Request::is_expired`).
pub fn stage(r: &Request, oracle_kind: OracleKind, clock: &Clock) -> RequestStage {
    if r.is_expired(clock.unix_timestamp) {
        return RequestStage::Expired;
    }
    let now = match oracle_kind {
        OracleKind::PythPull => clock.unix_timestamp,
        OracleKind::PythLegacy => i64::try_from(clock.slot).unwrap_or(i64::MAX),
    };
    if now < r.target {
        RequestStage::Waiting { wait: r.target - now }
    } else {
        RequestStage::Executable
    }
}

/// Decode a `Request` account, or `None` if the bytes are not one.
pub fn decode(data: &[u8]) -> Option<Request> {
    if data.len() < 8 || &data[..8] != Request::DISCRIMINATOR {
        return None;
    }
    Request::try_deserialize(&mut &data[..]).ok()
}

/// The instructions that execute `r` with the update in `oracle`: create the
/// owner's destination account if it is missing (idempotent; the executor
/// pays its rent), then `execute_*`. `t` is the request's token (mint,
/// redeem); `market_tokens` every token of the market (LP deposit, withdrawal).
pub fn execute_ixs(executor: Pubkey, r: &Request, m: &MarketKeys, t: Option<&TokenKeys>, oracle: Pubkey, market_tokens: &[TokenKeys]) -> Vec<Instruction> {
    let out_mint = match r.kind {
        RequestKind::Mint => t.map(|t| t.share_mint).unwrap_or_default(),
        RequestKind::Deposit => m.lp_mint,
        RequestKind::Redeem | RequestKind::Withdraw => m.collateral_mint,
    };
    vec![ix::create_associated_token_account(executor, r.owner, out_mint), ix::execute(executor, r.kind, r.owner, r.nonce, m, t, oracle, market_tokens)]
}

/// The instruction that cancels the expired request `r` (anyone may send it).
pub fn cancel_ix(caller: Pubkey, r: &Request, m: &MarketKeys, t: Option<&TokenKeys>) -> Instruction {
    ix::cancel_request(caller, r.kind, r.owner, r.nonce, m, t.map(|t| t.share_mint))
}
