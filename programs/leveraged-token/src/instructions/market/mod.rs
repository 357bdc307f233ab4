pub mod create_market;
pub mod execute_deposit;
pub mod execute_withdraw;
pub mod liquidity;

pub use create_market::*;
pub use execute_deposit::*;
pub use execute_withdraw::*;
pub use liquidity::*;
