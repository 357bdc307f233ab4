pub mod collect_fees;
pub mod create_leveraged_token;
pub mod mint;
pub mod position;
pub mod rebalance;
pub mod redeem;

pub use collect_fees::*;
pub use create_leveraged_token::*;
pub use mint::*;
pub use position::*;
pub use rebalance::*;
pub use redeem::*;
