pub mod cancel_request;
pub mod close;
pub mod open;
pub mod request_deposit;
pub mod request_mint;
pub mod request_redeem;
pub mod request_withdraw;

pub use cancel_request::*;
pub use close::*;
pub use open::*;
pub use request_deposit::*;
pub use request_mint::*;
pub use request_redeem::*;
pub use request_withdraw::*;
