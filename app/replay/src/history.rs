//! The price history committed in `data/` (real Binance daily candles; source
//! and terms in `data/README.md`), embedded at build time so `lt demo` and
//! `lt replay` run on it from any directory and never read outside the
//! repository. `--csv` reads another file instead, through [`load_file`].

use std::path::Path;

use anyhow::{Context, Result};
use leveraged_token_sdk::prices::{load_path, PricePoint};

/// One committed history file.
#[derive(Debug, Clone, Copy)]
pub struct History {
    /// Path inside the repository, as shown to users.
    pub path: &'static str,
    /// Short asset name used in reports and file names.
    pub asset: &'static str,
    pub text: &'static str,
}

pub const BTC: History = History { path: "data/Binance_BTCUSDT_d.csv", asset: "BTCUSDT", text: include_str!("../../../data/Binance_BTCUSDT_d.csv") };
pub const ETH: History = History { path: "data/Binance_ETHUSDT_d.csv", asset: "ETHUSDT", text: include_str!("../../../data/Binance_ETHUSDT_d.csv") };
/// What `lt replay` runs without `--csv`.
pub const ALL: [History; 2] = [BTC, ETH];

/// A parsed price path and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPath {
    /// What to show as the source (a repository path or the file given).
    pub source: String,
    /// Asset name for reports and output file names.
    pub asset: String,
    /// Four points a day (open, nearer extreme, other extreme, close), oldest first.
    pub points: Vec<PricePoint>,
    /// Calendar days missing from the file.
    pub missing_days: usize,
}

impl History {
    /// Parse the embedded file (it is checked by this crate's tests, so this cannot fail).
    pub fn load(&self) -> LoadedPath {
        let (points, missing_days) = load_path(self.text).unwrap_or_else(|e| panic!("{} (embedded): {e}", self.path));
        LoadedPath { source: format!("{} (committed)", self.path), asset: self.asset.to_string(), points, missing_days }
    }
}

/// Read and parse a price file. Every failure is one line naming the path
/// (and the line number for a bad row): missing, unreadable, empty, malformed.
pub fn load_file(path: &Path) -> Result<LoadedPath> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let (points, missing_days) = load_path(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let asset = path.file_stem().and_then(|s| s.to_str()).unwrap_or("asset").replace("Binance_", "").replace("_d", "");
    Ok(LoadedPath { source: path.display().to_string(), asset, points, missing_days })
}

#[cfg(test)]
mod tests {
    use super::*;
    use leveraged_token_sdk::prices::{missing_days, parse_cryptodatadownload};

    #[test]
    fn the_committed_history_files_parse_with_their_known_rows_and_gaps() {
        for h in ALL {
            let c = parse_cryptodatadownload(h.text).unwrap();
            assert_eq!(c.len(), 3_142, "{}", h.path);
            assert_eq!(missing_days(&c), 6, "{}", h.path);
            assert_eq!(c[0].date, "2017-08-17", "{}", h.path);
            assert_eq!(c.last().unwrap().date, "2026-03-30", "{}", h.path);
        }
        // BTC's first two days, as Binance printed them.
        let c = parse_cryptodatadownload(BTC.text).unwrap();
        assert_eq!((c[0].open, c[0].close), (426_148_000_000, 428_508_000_000));
        assert_eq!(c[1].date, "2017-08-18");
        let p = BTC.load();
        assert_eq!(p.points.len(), 4 * 3_142);
        assert_eq!(p.points[0].price_e8, 426_148_000_000);
        assert_eq!(p.asset, "BTCUSDT");
    }

    #[test]
    fn a_missing_empty_or_malformed_file_is_one_line_naming_the_path_and_row() {
        let dir = std::env::temp_dir().join(format!("lt-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.csv");
        let e = format!("{:#}", load_file(&missing).unwrap_err());
        assert!(e.starts_with(&format!("{}: cannot read", missing.display())) && !e.contains('\n'), "{e}");

        let empty = dir.join("empty.csv");
        std::fs::write(&empty, "").unwrap();
        let e = format!("{:#}", load_file(&empty).unwrap_err());
        assert_eq!(e, format!("{}: line 1: empty file", empty.display()));

        let bad = dir.join("bad.csv");
        let mut text: String = BTC.text.lines().take(5).collect::<Vec<_>>().join("\n");
        text.push_str("\n1502841600000,2017-08-16,BTCUSDT,abc,1,1,1,0,0,0\n");
        std::fs::write(&bad, text).unwrap();
        let e = format!("{:#}", load_file(&bad).unwrap_err());
        assert_eq!(e, format!("{}: line 6: Open: not a decimal number: \"abc\"", bad.display()));
        std::fs::remove_dir_all(&dir).ok();
    }
}
