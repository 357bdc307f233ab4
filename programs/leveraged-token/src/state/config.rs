use anchor_lang::prelude::*;

use crate::constants::PAUSE_ALL;

/// Global configuration (one PDA, seeds `["config"]`).
#[account]
#[derive(InitSpace, Debug)]
pub struct Config {
    /// Layout version ([`ACCOUNT_VERSION`](crate::constants::ACCOUNT_VERSION) at creation).
    pub version: u8,
    /// May create markets and tokens, update parameters and pause. Can never move funds.
    pub admin: Pubkey,
    /// Proposed next admin (`Pubkey::default()` when none): two-step transfer.
    pub pending_admin: Pubkey,
    /// Owner of the token accounts that receive protocol fees.
    pub treasury: Pubkey,
    /// Global pause flags (`PAUSE_*`), OR-ed with the market's and token's.
    pub pause_flags: u8,
    pub bump: u8,
    pub market_count: u32,
    /// Seconds between proposing a parameter change and applying it (fixed at
    /// creation; at least [`MIN_PARAM_DELAY_SECS`](crate::constants::MIN_PARAM_DELAY_SECS)).
    pub param_delay_secs: i64,
    /// Zero; room for fields added by upgrades.
    pub reserved: [u8; CONFIG_RESERVED_BYTES],
}

/// Bytes of a `Config` account (discriminator included), pinned: a layout
/// change must change this literal (and `version`) on purpose.
pub const CONFIG_SPACE: usize = 175;
/// Reserved bytes left after the fields added since layout 1 was pinned.
pub const CONFIG_RESERVED_BYTES: usize = crate::constants::RESERVED_BYTES - 8;
const _: () = assert!(CONFIG_SPACE == 8 + 1 + 32 * 3 + 1 + 1 + 4 + 8 + CONFIG_RESERVED_BYTES);
const _: () = assert!(8 + Config::INIT_SPACE == CONFIG_SPACE);
const _: () = assert!(PAUSE_ALL == 0b1111);

impl Config {
    pub fn has_pending_admin(&self) -> bool {
        self.pending_admin != Pubkey::default()
    }
}
