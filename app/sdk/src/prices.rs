//! Price history input: the CryptoDataDownload daily CSV (newest first, a URL
//! line, then a header) and a plain `timestamp,price` CSV. Prices are parsed
//! exactly from their decimal strings into units of 1e-8, never through floats.

use std::fmt;

/// One parsed daily candle, prices in 1e-8 units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candle {
    /// Milliseconds since the epoch at the day's open (UTC).
    pub unix_ms: i64,
    pub date: String,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
}

/// One point of a price path, price in 1e-8 units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricePoint {
    pub unix_ms: i64,
    pub price_e8: i64,
}

/// A parse error with the 1-based line number it happened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError { line, message: message.into() }
}

/// Parse a non-negative decimal string ("65000.12", "1e-3" is refused) into 1e-8 units, exactly.
pub fn parse_decimal_e8(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(format!("empty number {s:?}"));
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("not a decimal number: {s:?}"));
    }
    if frac.len() > 8 {
        return Err(format!("more than 8 decimals: {s:?}"));
    }
    let int_v: i64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| format!("number too large: {s:?}"))? };
    let frac_v: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<8}").parse().map_err(|_| format!("bad decimals: {s:?}"))? };
    int_v.checked_mul(100_000_000).and_then(|v| v.checked_add(frac_v)).ok_or_else(|| format!("number too large: {s:?}"))
}

/// Parse the CryptoDataDownload daily format. Returns candles oldest first.
/// Refuses unsorted or duplicated days, non-positive prices and malformed rows
/// with the line number; missing days are allowed (see [`missing_days`]).
pub fn parse_cryptodatadownload(text: &str) -> Result<Vec<Candle>, ParseError> {
    let mut lines = text.lines().enumerate();
    let (_, first) = lines.next().ok_or_else(|| err(1, "empty file"))?;
    let (hline, header) = if first.starts_with("http") { lines.next().ok_or_else(|| err(2, "missing header"))? } else { (0, first) };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let idx = |name: &str| cols.iter().position(|c| c.eq_ignore_ascii_case(name)).ok_or_else(|| err(hline + 1, format!("header has no {name} column: {header:?}")));
    let (iu, id, io, ih, il, ic) = (idx("Unix")?, idx("Date")?, idx("Open")?, idx("High")?, idx("Low")?, idx("Close")?);
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < cols.len() {
            return Err(err(n, format!("expected {} fields, found {}", cols.len(), f.len())));
        }
        let num = |j: usize, what: &str| -> Result<i64, ParseError> {
            let v = parse_decimal_e8(f[j]).map_err(|m| err(n, format!("{what}: {m}")))?;
            if v <= 0 {
                return Err(err(n, format!("{what} must be positive, found {}", f[j])));
            }
            Ok(v)
        };
        let mut unix_ms: i64 = f[iu].trim().parse().map_err(|_| err(n, format!("Unix: not an integer: {:?}", f[iu])))?;
        if unix_ms < 100_000_000_000 {
            unix_ms *= 1000; // some exports use seconds
        }
        let c = Candle { unix_ms, date: f[id].trim().to_string(), open: num(io, "Open")?, high: num(ih, "High")?, low: num(il, "Low")?, close: num(ic, "Close")? };
        if c.low > c.high || c.open > c.high || c.open < c.low || c.close > c.high || c.close < c.low {
            return Err(err(n, format!("inconsistent candle: low {} high {} open {} close {}", f[il], f[ih], f[io], f[ic])));
        }
        if let Some(prev) = out.last() {
            let prev: &Candle = prev;
            if c.unix_ms >= prev.unix_ms {
                return Err(err(n, format!("rows must be newest first: {} after {}", c.date, prev.date)));
            }
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(err(hline + 1, "no rows after the header"));
    }
    out.reverse();
    Ok(out)
}

/// Parse a plain `timestamp,price` CSV (optional header; timestamp in seconds
/// or milliseconds). Returns points oldest first.
pub fn parse_timestamp_price(text: &str) -> Result<Vec<PricePoint>, ParseError> {
    let mut out: Vec<PricePoint> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.chars().next().is_some_and(|c| c.is_ascii_alphabetic())) {
            continue;
        }
        let (t, p) = line.split_once(',').ok_or_else(|| err(n, format!("expected timestamp,price: {line:?}")))?;
        let mut unix_ms: i64 = t.trim().parse().map_err(|_| err(n, format!("timestamp: not an integer: {t:?}")))?;
        if unix_ms < 100_000_000_000 {
            unix_ms *= 1000;
        }
        let price_e8 = parse_decimal_e8(p).map_err(|m| err(n, format!("price: {m}")))?;
        if price_e8 <= 0 {
            return Err(err(n, format!("price must be positive, found {p}")));
        }
        if let Some(prev) = out.last() {
            if unix_ms <= prev.unix_ms {
                return Err(err(n, "timestamps must increase"));
            }
        }
        out.push(PricePoint { unix_ms, price_e8 });
    }
    if out.is_empty() {
        return Err(err(1, "no price rows"));
    }
    Ok(out)
}

pub const DAY_MS: i64 = 86_400_000;

/// Calendar days absent between consecutive candles.
pub fn missing_days(candles: &[Candle]) -> usize {
    candles.windows(2).map(|w| ((w[1].unix_ms - w[0].unix_ms) / DAY_MS - 1).max(0) as usize).sum()
}

/// The intraday convention: four points per day at 0 h, 6 h, 12 h and 18 h —
/// open, then the extreme nearer the open, then the other extreme, then close.
pub fn intraday_path(candles: &[Candle]) -> Vec<PricePoint> {
    let mut out = Vec::with_capacity(candles.len() * 4);
    for c in candles {
        let (first, second) = if (c.high - c.open) <= (c.open - c.low) { (c.high, c.low) } else { (c.low, c.high) };
        for (k, p) in [c.open, first, second, c.close].into_iter().enumerate() {
            out.push(PricePoint { unix_ms: c.unix_ms + k as i64 * DAY_MS / 4, price_e8: p });
        }
    }
    out
}

/// The oracle between the four daily points: a real feed publishes every slot,
/// so a move from one point to the next passes through the prices between.
/// Inserts points between consecutive points **of the same UTC day** so that no
/// step moves more than `max_step_bps` (geometric steps, evenly spaced in time);
/// the original points are kept exactly, and nothing is inserted across a day
/// boundary (a day's close stays its last point). `max_step_bps = 0` returns
/// the path unchanged: every move between points is one jump, as if the oracle
/// had been silent in between. Off-chain only (uses floats).
pub fn fill_path(path: &[PricePoint], max_step_bps: u32) -> Vec<PricePoint> {
    if max_step_bps == 0 || path.is_empty() {
        return path.to_vec();
    }
    let step = (1.0 + f64::from(max_step_bps) / 10_000.0).ln();
    let mut out = Vec::with_capacity(path.len() * 2);
    out.push(path[0]);
    for w in path.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.unix_ms.div_euclid(DAY_MS) == b.unix_ms.div_euclid(DAY_MS) && a.price_e8 > 0 && b.price_e8 > 0 {
            let log_move = (b.price_e8 as f64 / a.price_e8 as f64).ln();
            // The tiny slack keeps a move of exactly k steps at k steps.
            let n = ((log_move.abs() / step) - 1e-9).ceil().max(1.0) as i64;
            for k in 1..n {
                let f = k as f64 / n as f64;
                let price_e8 = (a.price_e8 as f64 * (log_move * f).exp()).round() as i64;
                out.push(PricePoint { unix_ms: a.unix_ms + (b.unix_ms - a.unix_ms) * k / n, price_e8 });
            }
        }
        out.push(b);
    }
    out
}

/// Read a price file of either format and return its path (daily candles are
/// expanded with [`intraday_path`]) and the number of missing days.
pub fn load_path(text: &str) -> Result<(Vec<PricePoint>, usize), ParseError> {
    if text.trim().is_empty() {
        return Err(err(1, "empty file"));
    }
    let first = text.lines().next().unwrap_or("");
    if first.starts_with("http") || first.to_ascii_lowercase().starts_with("unix,") {
        let candles = parse_cryptodatadownload(text)?;
        Ok((intraday_path(&candles), missing_days(&candles)))
    } else {
        Ok((parse_timestamp_price(text)?, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDD: &str = "https://www.CryptoDataDownload.com\nUnix,Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT,tradecount\n\
1502928000000,2017-08-17,BTCUSDT,4261.48,4485.39,4200.74,4285.08,795.15,3454770.05,3427\n";

    #[test]
    fn decimals_parse_exactly_without_floats() {
        assert_eq!(parse_decimal_e8("66010.93"), Ok(6_601_093_000_000));
        assert_eq!(parse_decimal_e8("0.00000001"), Ok(1));
        assert_eq!(parse_decimal_e8("7"), Ok(700_000_000));
        assert!(parse_decimal_e8("1.000000001").is_err());
        assert!(parse_decimal_e8("-1").is_err());
        assert!(parse_decimal_e8("1e3").is_err());
        assert!(parse_decimal_e8("").is_err());
    }

    #[test]
    fn cryptodatadownload_rows_come_back_oldest_first_with_gaps_counted() {
        let text = "https://x\nUnix,Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT,tradecount\n\
1503100800000,2017-08-19,BTCUSDT,4108.37,4184.69,3850.00,4139.98,381.3,1508239.2,1711\n\
1502928000000,2017-08-17,BTCUSDT,4261.48,4485.39,4200.74,4285.08,795.15,3454770.05,3427\n";
        let c = parse_cryptodatadownload(text).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].date, "2017-08-17");
        assert_eq!(missing_days(&c), 1);
    }

    #[test]
    fn a_bad_row_is_reported_with_its_line_number() {
        let bad = format!("{CDD}1502841600000,2017-08-16,BTCUSDT,abc,4485.39,4200.74,4285.08,1,1,1\n");
        let e = parse_cryptodatadownload(&bad).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("Open"), "{e}");
        let short = format!("{CDD}1502841600000,2017-08-16\n");
        assert_eq!(parse_cryptodatadownload(&short).unwrap_err().line, 4);
        let unsorted = format!("{CDD}1503100800000,2017-08-19,BTCUSDT,4108.37,4184.69,3850.00,4139.98,1,1,1\n");
        let e = parse_cryptodatadownload(&unsorted).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("newest first"));
        let inconsistent = CDD.replace("4200.74", "4400.00");
        assert_eq!(parse_cryptodatadownload(&inconsistent).unwrap_err().line, 3);
    }

    #[test]
    fn intraday_path_visits_the_nearer_extreme_first() {
        let c = parse_cryptodatadownload(CDD).unwrap();
        let p = intraday_path(&c);
        // open 4261.48 is nearer the low 4200.74 than the high 4485.39
        let prices: Vec<i64> = p.iter().map(|x| x.price_e8).collect();
        assert_eq!(prices, vec![426_148_000_000, 420_074_000_000, 448_539_000_000, 428_508_000_000]);
    }

    #[test]
    fn a_filled_path_keeps_every_point_moves_at_most_the_step_within_a_day_and_never_across_days() {
        let c = parse_cryptodatadownload(CDD).unwrap();
        let path = intraday_path(&c);
        assert_eq!(fill_path(&path, 0), path);
        for step_bps in [10u32, 100, 250] {
            let filled = fill_path(&path, step_bps);
            // Every original point is still there, in order.
            let mut it = filled.iter();
            assert!(path.iter().all(|p| it.any(|q| q == p)), "step {step_bps}");
            for w in filled.windows(2) {
                assert!(w[1].unix_ms >= w[0].unix_ms);
                let same_day = w[0].unix_ms.div_euclid(DAY_MS) == w[1].unix_ms.div_euclid(DAY_MS);
                let r = w[1].price_e8 as f64 / w[0].price_e8 as f64;
                if same_day {
                    assert!((r.ln().abs()) <= (1.0 + step_bps as f64 / 1e4).ln() + 1e-9, "step {step_bps}: {w:?}");
                }
            }
            // Nothing inserted between a day's close and the next day's open.
            for d in 0..c.len() - 1 {
                let close = path[4 * d + 3];
                let i = filled.iter().position(|p| *p == close).unwrap();
                assert_eq!(filled[i + 1], path[4 * d + 4]);
            }
        }
        // The first day moves 4261.48 → 4200.74 → 4485.39 → 4285.08: 1.4 % + 6.6 % + 4.6 %.
        assert_eq!(fill_path(&path[..4], 100).len(), 4 + 1 + 6 + 4);
    }

    #[test]
    fn plain_timestamp_price_files_parse_and_refuse_bad_rows() {
        let (p, missing) = load_path("timestamp,price\n1700000000,100.5\n1700003600,101\n").unwrap();
        assert_eq!(missing, 0);
        assert_eq!(p[0], PricePoint { unix_ms: 1_700_000_000_000, price_e8: 10_050_000_000 });
        assert_eq!(parse_timestamp_price("1,100\n2,x\n").unwrap_err().line, 2);
        assert_eq!(parse_timestamp_price("2,100\n1,100\n").unwrap_err().line, 2);
        assert_eq!(parse_timestamp_price("1,0\n").unwrap_err().line, 1);
    }
}
