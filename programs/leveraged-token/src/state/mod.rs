//! Program accounts, one file each. Sizes are asserted at compile time.

pub mod config;
pub mod leveraged_token;
pub mod market;
pub mod param_proposal;
pub mod params;
pub mod request;

pub use config::*;
pub use leveraged_token::*;
pub use market::*;
pub use param_proposal::*;
pub use params::*;
pub use request::*;
