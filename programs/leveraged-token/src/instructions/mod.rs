//! One file per instruction (its `Accounts` struct and handler), by domain.

pub mod admin;
pub mod market;
pub mod request;
pub mod token;

pub use admin::*;
pub use market::*;
pub use request::*;
pub use token::*;
