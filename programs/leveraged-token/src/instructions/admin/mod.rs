pub mod accept_admin;
pub mod initialize_config;
pub mod propose_admin;
pub mod set_pause;
pub mod update_market_params;
pub mod update_token_params;

pub use accept_admin::*;
pub use initialize_config::*;
pub use propose_admin::*;
pub use set_pause::*;
pub use update_market_params::*;
pub use update_token_params::*;
