pub mod create_market;
pub mod deposit_liquidity;
pub mod liquidity;
pub mod withdraw_liquidity;

pub use create_market::*;
pub use deposit_liquidity::*;
pub use liquidity::*;
pub use withdraw_liquidity::*;
