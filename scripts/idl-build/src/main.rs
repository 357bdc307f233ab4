//! `idl-build PROGRAM_DIR`: print the program's IDL exactly as
//! `anchor idl build` (anchor-cli 1.2.2) does — the same builder, settings
//! (Anchor.toml `[features] resolution = true`, `skip-lint = false`, docs on)
//! and JSON format (`serde_json::to_string_pretty`, no trailing newline).
//! Extra arguments are passed to the underlying `cargo test`.
//! The CLI's (and this) build is `cargo test __anchor_private_print_idl
//! --features idl-build -- --show-output --quiet` in PROGRAM_DIR, then the
//! printed pieces assembled, paths shortened, sorted and checked.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    // `cargo run` sets RUSTUP_TOOLCHAIN for its child; with it set the builder
    // runs `cargo +{toolchain}` (a literal, unformatted string in
    // anchor-lang-idl 0.1.4) and fails. The nested cargo resolves the
    // toolchain the usual way instead.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let mut args = std::env::args().skip(1);
    let program = PathBuf::from(args.next().context("usage: idl-build PROGRAM_DIR [CARGO_ARGS...]")?);
    let program = program.canonicalize().with_context(|| format!("program directory {}", program.display()))?;
    let idl = anchor_lang_idl::build::IdlBuilder::new()
        .program_path(program)
        .resolution(true)
        .skip_lint(false)
        .no_docs(false)
        .cargo_args(args.collect())
        .build()?;
    print!("{}", serde_json::to_string_pretty(&idl)?);
    Ok(())
}
