//! Every error the program returns. Messages say what was expected.

use anchor_lang::prelude::*;

#[error_code]
pub enum ErrorCode {
    #[msg("Arithmetic overflow: an amount or price is outside the supported range")]
    MathOverflow,
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("Slippage bound exceeded: the output is below the minimum you asked for")]
    SlippageExceeded,
    #[msg("Signer is not the admin stored in the config")]
    NotAdmin,
    #[msg("Signer is not the pending admin stored in the config")]
    NotPendingAdmin,
    #[msg("No admin transfer is pending")]
    NoPendingAdmin,
    #[msg("Operation is paused (global, market or token pause flag set)")]
    Paused,
    #[msg("Invalid pause flags: expected a non-empty subset of mint|redeem|rebalance|liquidity")]
    InvalidPauseFlags,
    #[msg("Invalid market parameters: see the program log for the failed bound")]
    InvalidMarketParams,
    #[msg("Invalid token parameters: see the program log for the failed bound")]
    InvalidTokenParams,
    #[msg("Oracle account is not the one pinned by the market")]
    OracleWrongAccount,
    #[msg("Oracle account is not owned by the Pyth program for its kind")]
    OracleWrongOwner,
    #[msg("Oracle account data could not be parsed as the expected Pyth account")]
    OracleInvalidData,
    #[msg("Oracle price is stale: older than the market's max age")]
    OracleStale,
    #[msg("Oracle price status is not Trading")]
    OracleNotTrading,
    #[msg("Oracle price is zero or negative")]
    OraclePriceNotPositive,
    #[msg("Oracle feed id does not match the market's feed id")]
    OracleWrongFeed,
    #[msg("Oracle confidence interval is wider than the market allows")]
    OracleConfidenceTooWide,
    #[msg("Pull oracle update is not fully verified")]
    OracleNotFullyVerified,
    #[msg("Collateral mint does not match the market")]
    WrongCollateralMint,
    #[msg("Token account owner does not match the signer or the expected owner")]
    WrongTokenOwner,
    #[msg("Share mint does not match the leveraged token")]
    WrongShareMint,
    #[msg("Vault does not match the one stored in the market or token")]
    WrongVault,
    #[msg("LP mint does not match the market")]
    WrongLpMint,
    #[msg("Leveraged token does not belong to this market")]
    WrongMarket,
    #[msg("Treasury token account is not owned by the config's treasury")]
    WrongTreasury,
    #[msg("The same account was passed for two roles that must differ")]
    DuplicateAccount,
    #[msg("Token is wiped: its equity was lost in a crash; no mints, redeem pays 0")]
    TokenWiped,
    #[msg("Rebalance not needed: no trigger (deviation, time, band, ripcord, chunk) holds")]
    RebalanceNotNeeded,
    #[msg("The trade would break a cap on the market's net book (side, net or stress loss)")]
    ExposureCapExceeded,
    #[msg("Mint would issue zero shares")]
    ZeroSharesOut,
    #[msg("Redeem amount exceeds the share supply")]
    InsufficientShares,
    #[msg("Withdrawal would leave the net book above its cap")]
    WithdrawalBreaksExposureCap,
    #[msg("Nothing to collect")]
    NothingToCollect,
    #[msg("Source token account holds less than the amount")]
    InsufficientFunds,
    #[msg("Oracle price is older than the last price this market used")]
    OraclePriceRegressed,
    #[msg("Oracle publish time is ahead of the cluster clock")]
    OracleTimestampInFuture,
    #[msg("Pool is insolvent: traders' unrealised profit exceeds its assets; deposits refused")]
    PoolInsolvent,
    #[msg("The pool owes this token profit it could not pay; mints are refused until it is paid or the price reverts")]
    UnpaidProfitOutstanding,
    #[msg("Parameter delay out of range: at least a day on a real cluster (zero only in a local-cluster build), at most 30 days")]
    InvalidParamDelay,
    #[msg("The proposed parameter change is not due yet")]
    ProposalNotDue,
    #[msg("The proposal belongs to another market or token")]
    WrongProposal,
    #[msg("A parameter change cannot be applied while the exits it affects are paused")]
    ExitsPaused,
    #[msg("Collateral mint has too few decimals")]
    CollateralDecimalsTooFew,
    #[msg("Collateral mint has a freeze authority the admin did not accept")]
    CollateralFreezeAuthorityNotAccepted,
    #[msg("A parameter change is already pending for this market or token: apply or cancel it first")]
    ProposalPending,
    #[msg("Oracle update is not the one for this price time: it must be the first published at or after it (prev < target <= published)")]
    OracleNotAtTarget,
    #[msg("The request has expired: it can only be cancelled")]
    RequestExpired,
    #[msg("The request has not expired yet: it can be cancelled only after its expiry")]
    RequestNotExpired,
    #[msg("The request is of another kind, market, token or owner than this instruction's accounts")]
    WrongRequest,
    #[msg("A wipe needs a fresh price: post the current update and rebalance")]
    WipeNeedsFreshPrice,
    #[msg("A request pays from and to the owner's associated token accounts: this account is not one")]
    NotAssociatedTokenAccount,
    #[msg("Every token of the market and its vault must follow, in pairs, in the remaining accounts (the pool is valued on all of them)")]
    MarketTokensMismatch,
    #[msg("The market has the most tokens it may have (8)")]
    TooManyTokens,
}

impl From<crate::math::MathError> for ErrorCode {
    fn from(_: crate::math::MathError) -> Self {
        ErrorCode::MathOverflow
    }
}

/// A math error becomes `MathOverflow`, and keeps what it was and where: the
/// variant is logged, and `?` passes its own source line as the error's
/// origin (`#[track_caller]`), so a failed transaction names the formula.
impl From<crate::math::MathError> for anchor_lang::error::Error {
    #[track_caller]
    fn from(e: crate::math::MathError) -> Self {
        let at = core::panic::Location::caller();
        anchor_lang::prelude::msg!("math error {:?} at {}:{}", e, at.file(), at.line());
        let code = ErrorCode::from(e);
        anchor_lang::error::Error::from(anchor_lang::error::AnchorError {
            error_name: code.name(),
            error_code_number: code.into(),
            error_msg: code.to_string(),
            error_origin: Some(anchor_lang::error::ErrorOrigin::Source(anchor_lang::error::Source { filename: at.file(), line: at.line() })),
            compared_values: None,
        })
    }
}
