//! Which build of the program the bank runs: natively (the default: the
//! program crate linked into the test binary, called through `processor!`),
//! or the SBF `.so` that `anchor build` / `cargo build-sbf` wrote, when
//! `SBF_OUT_DIR` or `BPF_OUT_DIR` names the directory holding
//! `leveraged_token.so` (solana-program-test's own convention, as
//! `cargo test-sbf` sets it). With the `.so` the bank meters the program's
//! compute units for real and logs `Program <id> consumed N of M compute units`.

use solana_program_test::{ProgramTest, ProgramTestContext};

/// The program's name: the bank loads `<name>.so` from the SBF output directory.
pub const PROGRAM_NAME: &str = "leveraged_token";

/// The SBF output directory, if the environment names one (`BPF_OUT_DIR`
/// first, as solana-program-test reads them).
pub fn sbf_out_dir() -> Option<std::path::PathBuf> {
    ["BPF_OUT_DIR", "SBF_OUT_DIR"].iter().find_map(std::env::var_os).filter(|v| !v.is_empty()).map(Into::into)
}

/// Whether banks built with [`program_test`] run the program's `.so`.
pub fn runs_sbf() -> bool {
    sbf_out_dir().is_some()
}

/// A `ProgramTest` with the program added: natively by `add_native` (which
/// calls `add_program(PROGRAM_NAME, ID, processor!(wrapper))` with the
/// caller's processor wrapper), or — when [`runs_sbf`] — as the `.so` from
/// the SBF output directory (panics if it is not there).
pub fn program_test(add_native: impl FnOnce(&mut ProgramTest)) -> ProgramTest {
    let mut pt = ProgramTest::default();
    // Before anything logs: program-test's default logger prints every program log.
    crate::bank::apply_log_filter();
    let sbf = runs_sbf();
    pt.prefer_bpf(sbf);
    if sbf {
        let dir = sbf_out_dir().unwrap_or_default();
        assert!(
            dir.join(format!("{PROGRAM_NAME}.so")).is_file(),
            "SBF_OUT_DIR/BPF_OUT_DIR is set to {} but {PROGRAM_NAME}.so is not there (run `anchor build` first, or unset it to run the program natively)",
            dir.display()
        );
        pt.add_program(PROGRAM_NAME, leveraged_token::ID, None);
    } else {
        add_native(&mut pt);
    }
    pt
}

/// Start the bank and, when the process counts heap use, put the heap
/// counter's guard around program-test's syscall stubs (installed by the
/// first start of the process).
pub async fn start(pt: ProgramTest) -> ProgramTestContext {
    let ctx = pt.start_with_context().await;
    crate::heap::install_stub_guard();
    ctx
}
