//! Progress bars for the long runs (`lt replay`, `lt demo`): drawn on stderr
//! by `indicatif` only when stderr is a terminal, so piped or captured runs
//! stay quiet.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` steps, labelled `what`.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(ProgressStyle::with_template("{prefix:>9} [{bar:40}] {percent:>3}% {pos}/{len} {elapsed_precise} (eta {eta})").expect("a valid template").progress_chars("#>-"));
    pb.set_prefix(what.to_string());
    pb
}
