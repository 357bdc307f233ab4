//! The pause rule, written once: an operation is paused when its flag is set
//! on the config (global), the market or the token. The instructions, the
//! SDK's decide step, the keeper and `lt` all ask [`paused_by`].

/// Where an operation's pause flag is set (the widest first).
#[derive(anchor_lang::AnchorSerialize, anchor_lang::AnchorDeserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseScope {
    Global,
    Market,
    Token,
}

/// The widest scope that pauses `flag` (`PAUSE_MINT`, …), or `None`. Pass 0
/// for a scope that does not apply (liquidity has no token).
pub fn paused_by(config_flags: u8, market_flags: u8, token_flags: u8, flag: u8) -> Option<PauseScope> {
    if config_flags & flag != 0 {
        Some(PauseScope::Global)
    } else if market_flags & flag != 0 {
        Some(PauseScope::Market)
    } else if token_flags & flag != 0 {
        Some(PauseScope::Token)
    } else {
        None
    }
}

/// Whether `flag` is paused at any scope.
pub fn paused(config_flags: u8, market_flags: u8, token_flags: u8, flag: u8) -> bool {
    paused_by(config_flags, market_flags, token_flags, flag).is_some()
}

/// Every flag paused at any scope (for display).
pub fn effective_pause_flags(config_flags: u8, market_flags: u8, token_flags: u8) -> u8 {
    config_flags | market_flags | token_flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::{PAUSE_MINT, PAUSE_REBALANCE};

    #[test]
    fn any_scope_pauses_and_the_widest_is_named() {
        assert_eq!(paused_by(0, 0, 0, PAUSE_MINT), None);
        assert_eq!(paused_by(PAUSE_MINT, PAUSE_MINT, PAUSE_MINT, PAUSE_MINT), Some(PauseScope::Global));
        assert_eq!(paused_by(PAUSE_REBALANCE, PAUSE_MINT, 0, PAUSE_MINT), Some(PauseScope::Market));
        assert_eq!(paused_by(0, 0, PAUSE_MINT, PAUSE_MINT), Some(PauseScope::Token));
        assert!(!paused(PAUSE_REBALANCE, PAUSE_REBALANCE, PAUSE_REBALANCE, PAUSE_MINT));
        assert_eq!(effective_pause_flags(1, 2, 4), 7);
    }
}
