//! Replay real price history through the real program in the in-process bank,
//! compare rebalance policies, measure decay and tracking, and write a report.

pub mod cli;
pub mod engine;
pub mod findings;
pub mod history;
pub mod metrics;
pub mod plots;
pub mod policy;
pub mod progress;
pub mod report;
