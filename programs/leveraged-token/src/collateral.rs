//! The collateral rule, written once: a market's collateral mint has at least
//! [`MIN_COLLATERAL_DECIMALS`] decimals, and no freeze authority unless the
//! admin accepted that very key (it could freeze the pool and every token
//! vault of the market: trust in the issuer). `create_market`, `lt market
//! create` and `lt-deploy` all ask [`check_collateral`].

use anchor_lang::prelude::Pubkey;

use crate::constants::MIN_COLLATERAL_DECIMALS;
use crate::errors::ErrorCode;

/// Why a collateral mint is refused (displayed as the rest of "collateral mint …").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollateralIssue {
    TooFewDecimals { decimals: u8 },
    FreezeAuthorityNotAccepted { authority: Pubkey, accepted: Option<Pubkey> },
}

impl CollateralIssue {
    /// The program error the instruction fails with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CollateralIssue::TooFewDecimals { .. } => ErrorCode::CollateralDecimalsTooFew,
            CollateralIssue::FreezeAuthorityNotAccepted { .. } => ErrorCode::CollateralFreezeAuthorityNotAccepted,
        }
    }
}

impl core::fmt::Display for CollateralIssue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CollateralIssue::TooFewDecimals { decimals } => write!(f, "has {decimals} decimals, at least {MIN_COLLATERAL_DECIMALS} required"),
            CollateralIssue::FreezeAuthorityNotAccepted { authority, accepted } => write!(f, "has freeze authority {authority}; accepted: {accepted:?}"),
        }
    }
}

/// Check a collateral mint's `decimals` and `freeze_authority` against the
/// authority the admin accepts (`trusted_freeze_authority`). Returns the
/// accepted authority to store in the market (`Pubkey::default()` for a mint
/// without one).
pub fn check_collateral(decimals: u8, freeze_authority: Option<Pubkey>, trusted_freeze_authority: Option<Pubkey>) -> Result<Pubkey, CollateralIssue> {
    if decimals < MIN_COLLATERAL_DECIMALS {
        return Err(CollateralIssue::TooFewDecimals { decimals });
    }
    match freeze_authority {
        None => Ok(Pubkey::default()),
        Some(f) if trusted_freeze_authority == Some(f) => Ok(f),
        Some(authority) => Err(CollateralIssue::FreezeAuthorityNotAccepted { authority, accepted: trusted_freeze_authority }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_first_then_the_freeze_authority_must_be_the_named_one() {
        let (f, other) = (Pubkey::new_unique(), Pubkey::new_unique());
        assert_eq!(check_collateral(5, None, None), Err(CollateralIssue::TooFewDecimals { decimals: 5 }));
        assert_eq!(check_collateral(0, Some(f), Some(f)), Err(CollateralIssue::TooFewDecimals { decimals: 0 }));
        assert_eq!(check_collateral(6, None, None), Ok(Pubkey::default()));
        assert_eq!(check_collateral(6, None, Some(f)), Ok(Pubkey::default()));
        assert_eq!(check_collateral(6, Some(f), Some(f)), Ok(f));
        for accepted in [None, Some(other)] {
            assert_eq!(check_collateral(9, Some(f), accepted), Err(CollateralIssue::FreezeAuthorityNotAccepted { authority: f, accepted }));
        }
    }
}
