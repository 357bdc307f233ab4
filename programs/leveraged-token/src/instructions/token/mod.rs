pub mod collect_fees;
pub mod create_leveraged_token;
pub mod execute_mint;
pub mod execute_redeem;
pub mod position;
pub mod rebalance;

pub use collect_fees::*;
pub use create_leveraged_token::*;
pub use execute_mint::*;
pub use execute_redeem::*;
pub use position::*;
pub use rebalance::*;
