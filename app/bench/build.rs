//! Export `getrandom` from the `lt-bench` executable so its definition (see
//! main.rs, `fixed_hash_keys`) interposes libc's: that is how the main thread's
//! std `RandomState` keys are made the same in every run, which keeps
//! callgrind's counts of Anchor's duplicate-account `HashSet` repeatable.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=getrandom");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
