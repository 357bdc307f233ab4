//! Program errors by name: a failed transaction's custom code mapped back to
//! the program's `ErrorCode` variant and its `#[msg]`, Anchor framework codes to
//! `anchor_lang::error::ErrorCode`, SPL Token codes to `TokenError`, and the
//! other transaction errors to a sentence saying what to check. Used by the CLI
//! and the keeper to print `SlippageExceeded (6002): Slippage bound exceeded…`
//! instead of `custom program error: 0x1772`.

use anchor_lang::prelude::Pubkey;
use solana_instruction_error::InstructionError;
use solana_transaction_error::TransactionError;

use leveraged_token::errors::ErrorCode;

/// Lists every variant of an error enum once, as a slice, and proves with an
/// exhaustive `match` that none is missing (a new variant fails to compile).
macro_rules! all_variants {
    ($name:ident, $ty:path, [$($v:ident),* $(,)?]) => {
        pub const $name: &[$ty] = &[$(<$ty>::$v),*];
        const _: fn($ty) = |e| match e { $(<$ty>::$v => ()),* };
    };
}

all_variants!(
    PROGRAM_ERRORS,
    ErrorCode,
    [
        MathOverflow,
        ZeroAmount,
        SlippageExceeded,
        NotAdmin,
        NotPendingAdmin,
        NoPendingAdmin,
        Paused,
        InvalidPauseFlags,
        InvalidMarketParams,
        InvalidTokenParams,
        OracleWrongAccount,
        OracleWrongOwner,
        OracleInvalidData,
        OracleStale,
        OracleNotTrading,
        OraclePriceNotPositive,
        OracleWrongFeed,
        OracleConfidenceTooWide,
        OracleNotFullyVerified,
        WrongCollateralMint,
        WrongTokenOwner,
        WrongShareMint,
        WrongVault,
        WrongLpMint,
        WrongMarket,
        WrongTreasury,
        DuplicateAccount,
        TokenWiped,
        RebalanceNotNeeded,
        ExposureCapExceeded,
        ZeroSharesOut,
        InsufficientShares,
        WithdrawalBreaksExposureCap,
        NothingToCollect,
        InsufficientFunds,
        OraclePriceRegressed,
        OracleTimestampInFuture,
        PoolInsolvent,
        UnpaidProfitOutstanding,
        InvalidParamDelay,
        ProposalNotDue,
        WrongProposal,
        ExitsPaused,
        CollateralDecimalsTooFew,
        CollateralFreezeAuthorityNotAccepted,
        ProposalPending,
        OracleNotAtTarget,
        RequestExpired,
        RequestNotExpired,
        WrongRequest,
        WipeNeedsFreshPrice,
        NotAssociatedTokenAccount,
        MarketTokensMismatch,
        TooManyTokens,
    ]
);

all_variants!(
    ANCHOR_ERRORS,
    anchor_lang::error::ErrorCode,
    [
        InstructionMissing,
        InstructionFallbackNotFound,
        InstructionDidNotDeserialize,
        InstructionDidNotSerialize,
        IdlInstructionStub,
        IdlInstructionInvalidProgram,
        IdlAccountNotEmpty,
        EventInstructionStub,
        ConstraintMut,
        ConstraintHasOne,
        ConstraintSigner,
        ConstraintRaw,
        ConstraintOwner,
        ConstraintRentExempt,
        ConstraintSeeds,
        ConstraintExecutable,
        ConstraintState,
        ConstraintAssociated,
        ConstraintAssociatedInit,
        ConstraintClose,
        ConstraintAddress,
        ConstraintZero,
        ConstraintTokenMint,
        ConstraintTokenOwner,
        ConstraintMintMintAuthority,
        ConstraintMintFreezeAuthority,
        ConstraintMintDecimals,
        ConstraintSpace,
        ConstraintAccountIsNone,
        ConstraintTokenTokenProgram,
        ConstraintMintTokenProgram,
        ConstraintAssociatedTokenTokenProgram,
        ConstraintMintGroupPointerExtension,
        ConstraintMintGroupPointerExtensionAuthority,
        ConstraintMintGroupPointerExtensionGroupAddress,
        ConstraintMintGroupMemberPointerExtension,
        ConstraintMintGroupMemberPointerExtensionAuthority,
        ConstraintMintGroupMemberPointerExtensionMemberAddress,
        ConstraintMintMetadataPointerExtension,
        ConstraintMintMetadataPointerExtensionAuthority,
        ConstraintMintMetadataPointerExtensionMetadataAddress,
        ConstraintMintCloseAuthorityExtension,
        ConstraintMintCloseAuthorityExtensionAuthority,
        ConstraintMintPermanentDelegateExtension,
        ConstraintMintPermanentDelegateExtensionDelegate,
        ConstraintMintTransferHookExtension,
        ConstraintMintTransferHookExtensionAuthority,
        ConstraintMintTransferHookExtensionProgramId,
        ConstraintDuplicateMutableAccount,
        AccountAlreadyMigrated,
        AccountNotMigrated,
        ConstraintMintPausableExtension,
        ConstraintMintPausableAuthority,
        RequireViolated,
        RequireEqViolated,
        RequireKeysEqViolated,
        RequireNeqViolated,
        RequireKeysNeqViolated,
        RequireGtViolated,
        RequireGteViolated,
        AccountDiscriminatorAlreadySet,
        AccountDiscriminatorNotFound,
        AccountDiscriminatorMismatch,
        AccountDidNotDeserialize,
        AccountDidNotSerialize,
        AccountNotEnoughKeys,
        AccountNotMutable,
        AccountOwnedByWrongProgram,
        InvalidProgramId,
        InvalidProgramExecutable,
        AccountNotSigner,
        AccountNotSystemOwned,
        AccountNotInitialized,
        AccountNotProgramData,
        AccountNotAssociatedTokenAccount,
        AccountSysvarMismatch,
        AccountReallocExceedsLimit,
        AccountDuplicateReallocs,
        DeclaredProgramIdMismatch,
        TryingToInitPayerAsProgramAccount,
        InvalidNumericConversion,
        Deprecated,
    ]
);

/// The program's error with this custom code, if any.
pub fn program_error(code: u32) -> Option<ErrorCode> {
    PROGRAM_ERRORS.iter().copied().find(|e| u32::from(*e) == code)
}

/// The Anchor framework error with this custom code, if any.
pub fn anchor_error(code: u32) -> Option<anchor_lang::error::ErrorCode> {
    ANCHOR_ERRORS.iter().copied().find(|e| u32::from(*e) == code)
}

/// A failed transaction, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// The custom error code, when the failure had one.
    pub code: Option<u32>,
    /// `SlippageExceeded`, `ConstraintSeeds`, `InsufficientFundsForFee`, …
    pub name: String,
    /// What it means (the program's `#[msg]` for program errors).
    pub message: String,
    /// Index of the failing top-level instruction, when known.
    pub instruction: Option<u8>,
}

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(c) => write!(f, "{} ({}): {}", self.name, c, self.message),
            None => write!(f, "{}: {}", self.name, self.message),
        }
    }
}

/// Name and message of a custom code returned while running `program`
/// (the program of the failing top-level instruction; a code that none of
/// ours matches is tried as an SPL Token error raised through a CPI).
pub fn explain_custom(code: u32, program: Option<&Pubkey>) -> (String, String) {
    let ours = program.is_none_or(|p| *p == leveraged_token::ID);
    if ours {
        if let Some(e) = program_error(code) {
            return (e.name(), e.to_string());
        }
        if let Some(e) = anchor_error(code) {
            return (e.name(), e.to_string());
        }
    }
    if let Ok(e) = anchor_spl::token::spl_token::error::TokenError::try_from(code) {
        return (format!("TokenError::{e:?}"), format!("SPL Token: {e}"));
    }
    ("Custom".to_string(), format!("custom program error {code} (0x{code:x}) from {}", program.map(|p| p.to_string()).unwrap_or_else(|| "an unknown program".into())))
}

/// Explain a transaction error; `programs[i]` is the program of top-level instruction `i`.
pub fn explain(err: &TransactionError, programs: &[Pubkey]) -> Explained {
    match err {
        TransactionError::InstructionError(i, ie) => {
            let program = programs.get(usize::from(*i));
            let (code, name, message) = match ie {
                InstructionError::Custom(c) => {
                    let (n, m) = explain_custom(*c, program);
                    (Some(*c), n, m)
                }
                other => (None, format!("{other:?}"), other.to_string()),
            };
            Explained { code, name, message, instruction: Some(*i) }
        }
        other => {
            let hint = match other {
                TransactionError::AccountNotFound => "the fee payer has no SOL on this cluster (airdrop or fund it)".to_string(),
                TransactionError::InsufficientFundsForFee => "the fee payer cannot pay the fee: fund it with SOL".to_string(),
                TransactionError::InsufficientFundsForRent { account_index } => format!("account #{account_index} would fall below rent exemption: fund the payer"),
                TransactionError::BlockhashNotFound => "the blockhash expired or is unknown: retry".to_string(),
                TransactionError::AlreadyProcessed => "an identical transaction was already processed".to_string(),
                e => e.to_string(),
            };
            Explained { code: None, name: variant_name(other), message: hint, instruction: None }
        }
    }
}

fn variant_name(e: &TransactionError) -> String {
    let s = format!("{e:?}");
    s.split(['(', ' ', '{']).next().unwrap_or(&s).to_string()
}

/// The lines of `logs` worth showing with an error: the program's own `msg!`
/// output and Anchor's error report, without instruction and CU noise.
pub fn relevant_logs(logs: &[String]) -> Vec<String> {
    logs.iter().filter_map(|l| l.strip_prefix("Program log: ")).filter(|l| !l.starts_with("Instruction: ") && !l.starts_with("Program data: ")).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_error_maps_back_to_itself_in_order() {
        for (i, e) in PROGRAM_ERRORS.iter().enumerate() {
            assert_eq!(u32::from(*e), 6000 + i as u32, "{e:?} out of order");
            assert_eq!(program_error(u32::from(*e)).map(|x| x.name()), Some(e.name()));
        }
    }

    #[test]
    fn slippage_is_decoded_with_its_message() {
        let err = TransactionError::InstructionError(1, InstructionError::Custom(6002));
        let x = explain(&err, &[Pubkey::default(), leveraged_token::ID]);
        assert_eq!(x.name, "SlippageExceeded");
        assert!(x.to_string().starts_with("SlippageExceeded (6002): Slippage bound exceeded"), "{x}");
    }

    #[test]
    fn anchor_and_token_codes_are_decoded() {
        assert_eq!(explain_custom(2006, Some(&leveraged_token::ID)).0, "ConstraintSeeds");
        assert_eq!(explain_custom(3012, None).0, "AccountNotInitialized");
        assert_eq!(explain_custom(1, Some(&anchor_spl::token::ID)).0, "TokenError::InsufficientFunds");
        assert_eq!(explain(&TransactionError::InsufficientFundsForFee, &[]).name, "InsufficientFundsForFee");
    }
}
