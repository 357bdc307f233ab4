//! Amounts as people type and read them: decimal strings in UI units of a
//! mint's decimals, parsed exactly (never through floats), and fixed-point
//! values printed exactly.

use std::fmt;

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountError(pub String);

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AmountError {}

fn refuse(s: &str, why: impl fmt::Display) -> AmountError {
    AmountError(format!("invalid amount {s:?}: {why}"))
}

/// Check the shape of a non-negative decimal ("12", "12.5", ".5", "12.") and
/// split it into integer and fraction digits.
fn split_decimal(s: &str) -> Result<(&str, &str), AmountError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(refuse(s, "empty"));
    }
    if t.starts_with('-') {
        return Err(refuse(s, "negative amounts are not allowed"));
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if !t.bytes().any(|b| b.is_ascii_digit()) && t.bytes().all(|b| b == b'.' || b == b'_') {
        return Err(refuse(s, "no digits"));
    }
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !digits(int) || !digits(frac) {
        return Err(refuse(s, "expected a decimal number like 12.5 (no exponents, signs or separators other than _)"));
    }
    Ok((int, frac))
}

/// Parse `"12.5"` into base units of a mint with `decimals` decimals
/// (12_500_000 for 6), exactly. Refuses empty strings, signs, more fraction
/// digits than the mint has, and values that do not fit a u64.
pub fn parse_ui_amount(s: &str, decimals: u8) -> Result<u64, AmountError> {
    let (int, frac) = split_decimal(s)?;
    let int: String = int.chars().filter(|c| *c != '_').collect();
    let frac: String = frac.chars().filter(|c| *c != '_').collect();
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > usize::from(decimals) {
        return Err(refuse(s, format!("more than {decimals} decimal places (the mint has {decimals} decimals)")));
    }
    let too_large = || refuse(s, format!("too large: the most a u64 holds at {decimals} decimals is {}", format_ui_amount(u64::MAX, decimals)));
    let scale = 10u64.checked_pow(u32::from(decimals)).ok_or_else(too_large)?;
    let int_v: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| too_large())? };
    let frac_v: u64 = if frac_trimmed.is_empty() { 0 } else { format!("{frac_trimmed:0<width$}", width = usize::from(decimals)).parse().map_err(|_| too_large())? };
    int_v.checked_mul(scale).and_then(|v| v.checked_add(frac_v)).ok_or_else(too_large)
}

/// Print base units as a UI amount with trailing fraction zeros trimmed
/// (`12500000`, 6 → `"12.5"`; `0` → `"0"`).
pub fn format_ui_amount(units: u64, decimals: u8) -> String {
    format_fixed(u128::from(units), u32::from(decimals))
}

/// `value / 10^decimals` exactly, trailing fraction zeros trimmed.
pub fn format_fixed(value: u128, decimals: u32) -> String {
    if decimals == 0 {
        return value.to_string();
    }
    let scale = 10u128.pow(decimals);
    let int = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return int.to_string();
    }
    let f = format!("{frac:0width$}", width = decimals as usize);
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// Signed `value / 10^decimals` with exactly `shown` fraction digits, rounded toward zero.
pub fn format_signed_fixed(value: i128, decimals: u32, shown: u32) -> String {
    let abs = value.unsigned_abs();
    let scale = 10u128.pow(decimals);
    let int = abs / scale;
    let frac = (abs % scale) / 10u128.pow(decimals.saturating_sub(shown));
    let sign = if value < 0 { "-" } else { "" };
    if shown == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac:0width$}", width = shown as usize)
    }
}

/// Signed base units as a UI amount, trailing fraction zeros trimmed (`-1.5`).
pub fn format_signed_ui(value: i128, decimals: u8) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", format_fixed(value.unsigned_abs(), u32::from(decimals)))
}

/// Leverage in bps as `3.0000x` / `-1.0000x`.
pub fn format_leverage(bps: i64) -> String {
    format!("{}x", format_signed_fixed(i128::from(bps), 4, 4))
}

/// Basis points as a percentage with two decimals (`1234` → `12.34%`).
pub fn format_bps_pct(bps: i128) -> String {
    format!("{}%", format_signed_fixed(bps, 2, 2))
}

/// Parse a signed leverage like `3`, `-1`, `2.5x` into bps (30000, -10000, 25000).
pub fn parse_leverage(s: &str) -> Result<i32, AmountError> {
    let t = s.trim().trim_end_matches(['x', 'X']);
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let bps = parse_ui_amount(body, 4).map_err(|e| AmountError(format!("invalid leverage {s:?}: {}", e.0.split(": ").last().unwrap_or(""))))?;
    let bps = i32::try_from(bps).map_err(|_| AmountError(format!("invalid leverage {s:?}: too large")))?;
    if bps == 0 {
        return Err(AmountError(format!("invalid leverage {s:?}: must not be zero")));
    }
    Ok(if neg { -bps } else { bps })
}

/// A UI amount as typed on the command line, or `all` where the command allows it.
/// Only its shape is checked at parse time; the mint's decimals are known later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiAmount {
    All,
    Exact(String),
}

impl UiAmount {
    /// Base units at `decimals`, with `all` meaning `balance`.
    pub fn resolve(&self, decimals: u8, balance: u64) -> Result<u64, AmountError> {
        match self {
            UiAmount::All => Ok(balance),
            UiAmount::Exact(s) => parse_ui_amount(s, decimals),
        }
    }

    pub fn exact(&self, decimals: u8) -> Result<u64, AmountError> {
        match self {
            UiAmount::All => Err(AmountError("\"all\" is not allowed here: give an amount".into())),
            UiAmount::Exact(s) => parse_ui_amount(s, decimals),
        }
    }
}

impl std::str::FromStr for UiAmount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(UiAmount::All);
        }
        split_decimal(s)?;
        Ok(UiAmount::Exact(s.trim().to_string()))
    }
}

impl fmt::Display for UiAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UiAmount::All => f.write_str("all"),
            UiAmount::Exact(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_ui_amount("12.5", 6), Ok(12_500_000));
        assert_eq!(parse_ui_amount("12", 6), Ok(12_000_000));
        assert_eq!(parse_ui_amount(".5", 6), Ok(500_000));
        assert_eq!(parse_ui_amount("5.", 6), Ok(5_000_000));
        assert_eq!(parse_ui_amount("0.000001", 6), Ok(1));
        assert_eq!(parse_ui_amount("1_000.25", 6), Ok(1_000_250_000));
        assert_eq!(parse_ui_amount(" 7 ", 0), Ok(7));
        // 0.1 + 0.2 is exact here
        assert_eq!(parse_ui_amount("0.3", 9), Ok(300_000_000));
        // trailing zeros beyond the mint's decimals are harmless
        assert_eq!(parse_ui_amount("1.2500000000", 6), Ok(1_250_000));
        assert_eq!(parse_ui_amount("18446744073709.551615", 6), Ok(u64::MAX));
    }

    #[test]
    fn refuses_too_many_decimals() {
        let e = parse_ui_amount("1.0000001", 6).unwrap_err();
        assert!(e.0.contains("more than 6 decimal places"), "{e}");
        assert!(parse_ui_amount("0.5", 0).unwrap_err().0.contains("more than 0 decimal places"));
    }

    #[test]
    fn refuses_negative_empty_and_junk() {
        assert!(parse_ui_amount("-1", 6).unwrap_err().0.contains("negative"));
        assert!(parse_ui_amount("", 6).unwrap_err().0.contains("empty"));
        assert!(parse_ui_amount("   ", 6).unwrap_err().0.contains("empty"));
        assert!(parse_ui_amount(".", 6).unwrap_err().0.contains("no digits"));
        for junk in ["1e6", "12,5", "1.2.3", "abc", "0x10", "1 000", "NaN", "inf"] {
            assert!(parse_ui_amount(junk, 6).unwrap_err().0.contains("expected a decimal number"), "{junk}");
        }
    }

    #[test]
    fn refuses_overflow() {
        let e = parse_ui_amount("18446744073709.551616", 6).unwrap_err();
        assert!(e.0.contains("too large"), "{e}");
        assert!(parse_ui_amount("99999999999999999999999", 0).unwrap_err().0.contains("too large"));
        assert!(parse_ui_amount("1", 20).unwrap_err().0.contains("too large"));
    }

    #[test]
    fn formats_round_trip() {
        for (u, d, s) in [(12_500_000u64, 6u8, "12.5"), (0, 6, "0"), (1, 6, "0.000001"), (10_000_000_000, 6, "10000"), (7, 0, "7")] {
            assert_eq!(format_ui_amount(u, d), s);
            assert_eq!(parse_ui_amount(s, d), Ok(u));
        }
        assert_eq!(format_ui_amount(u64::MAX, 6), "18446744073709.551615");
    }

    #[test]
    fn leverage_and_percentages() {
        assert_eq!(parse_leverage("3"), Ok(30_000));
        assert_eq!(parse_leverage("-1"), Ok(-10_000));
        assert_eq!(parse_leverage("2.5x"), Ok(25_000));
        assert!(parse_leverage("0").is_err());
        assert!(parse_leverage("1.00001").is_err());
        assert_eq!(format_leverage(29_987), "2.9987x");
        assert_eq!(format_leverage(-10_000), "-1.0000x");
        assert_eq!(format_bps_pct(1234), "12.34%");
        assert_eq!(format_bps_pct(-5), "-0.05%");
        assert_eq!(format_signed_fixed(-1_234_567, 6, 2), "-1.23");
        assert_eq!(format_signed_ui(-1_500_000, 6), "-1.5");
        assert_eq!(format_signed_ui(2_992_504_500, 6), "2992.5045");
    }

    #[test]
    fn ui_amount_from_str() {
        assert_eq!("all".parse::<UiAmount>(), Ok(UiAmount::All));
        assert_eq!("12.5".parse::<UiAmount>(), Ok(UiAmount::Exact("12.5".into())));
        assert!("twelve".parse::<UiAmount>().is_err());
        assert!("-3".parse::<UiAmount>().is_err());
        assert_eq!(UiAmount::All.resolve(6, 42), Ok(42));
        assert!(UiAmount::All.exact(6).is_err());
    }
}
