use anchor_lang::prelude::*;

use crate::state::{MarketParams, TokenParams};

/// A proposed parameter set for one market or token.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamChange {
    Market(MarketParams),
    Token(TokenParams),
}

/// A parameter change waiting out the config's delay: proposed by the admin,
/// applied by anyone once `eta` has passed (the apply settles at the old
/// values first), or cancelled by the admin. At most one per market or token.
/// PDA seeds `["proposal", target]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct ParamProposal {
    /// Layout version ([`ACCOUNT_VERSION`](crate::constants::ACCOUNT_VERSION) at creation).
    pub version: u8,
    pub bump: u8,
    /// The market or token the change is for.
    pub target: Pubkey,
    /// Paid the rent; receives it back when the proposal is applied or cancelled.
    pub proposer: Pubkey,
    /// Unix time of the proposal.
    pub proposed_at: i64,
    /// Earliest unix time at which it may be applied (`proposed_at + param_delay_secs`).
    pub eta: i64,
    pub change: ParamChange,
    /// Zero; room for fields added by upgrades.
    pub reserved: [u8; 32],
}

impl ParamProposal {
    /// Whether the change may be applied at unix time `now`: its delay has
    /// passed (the apply instructions and every client ask this).
    pub fn is_due(&self, now: i64) -> bool {
        now >= self.eta
    }

    /// Seconds until the change may be applied (0 once due).
    pub fn due_in_secs(&self, now: i64) -> i64 {
        self.eta.saturating_sub(now).max(0)
    }
}

/// Bytes of a `ParamProposal` account (discriminator included), pinned.
pub const PROPOSAL_SPACE: usize = 201;
const _: () = assert!(PROPOSAL_SPACE == 8 + 1 + 1 + 32 * 2 + 8 * 2 + (1 + crate::state::MARKET_PARAMS_BYTES) + 32);
const _: () = assert!(8 + ParamProposal::INIT_SPACE == PROPOSAL_SPACE);
