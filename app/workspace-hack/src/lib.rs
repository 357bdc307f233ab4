//! No code: see this crate's Cargo.toml. Its dependencies exist only to give
//! `cargo run -p leveraged-token-cli` the same dependency features as
//! `cargo test --workspace`, so the two commands share one build.
