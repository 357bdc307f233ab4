//! The plots: a short replay through the bank rendered into a temp dir; every
//! file exists under its stable name, is a PNG of the announced size, and has
//! real content (many colours, not a blank canvas).
use std::path::PathBuf;
use std::time::Instant;

use leveraged_token_replay::engine::{replay, Config};
use leveraged_token_replay::plots::{self, Plot, NAV_HEIGHT, PANEL_HEIGHT, TITLE_HEIGHT, WIDTH};
use leveraged_token_replay::policy::Policy;
use leveraged_token_sdk::prices::{intraday_path, Candle, DAY_MS};

/// 60 days of a deterministic ±4 % random walk, with a −40 % day on day 45
/// (wipes the 3x token: the log plot's floor and the wipe marker are drawn).
fn candles() -> Vec<Candle> {
    let mut seed: u64 = 0x5eed;
    let mut prev: i64 = 30_000 * 100_000_000;
    (0..60)
        .map(|i| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let r = ((seed >> 33) % 801) as i64 - 400; // −4.00 % … +4.00 %
            let c = if i == 45 { prev * 60 / 100 } else { prev + prev * r / 10_000 };
            let (o, hi, lo) = (prev, prev.max(c) * 1_015 / 1_000, prev.min(c) * 985 / 1_000);
            prev = c;
            Candle { unix_ms: 1_599_955_200_000 + i * DAY_MS, date: String::new(), open: o, high: hi, low: lo, close: c }
        })
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lt-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// (width, height) from the IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "too short for a PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Distinct colours of the decoded image (palette entries actually used).
fn colours_used(bytes: &[u8]) -> usize {
    let mut reader = png::Decoder::new(bytes).read_info().expect("decodes");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("frame");
    let mut seen = std::collections::HashSet::new();
    let px = info.color_type.samples();
    for c in buf[..info.buffer_size()].chunks_exact(px) {
        seen.insert(c.to_vec());
    }
    seen.len()
}

#[tokio::test]
async fn every_plot_is_a_non_trivial_png_of_the_announced_size_under_a_stable_name() {
    let path = intraday_path(&candles());
    let cfg = Config { policies: vec![Policy::Defaults, Policy::Fli, Policy::Daily], targets: vec![30_000, -10_000], flow: None, market_params: leveraged_token_sdk::defaults::market_params() };
    let out = replay(&path, 0, &cfg, |_, _| {}).await.unwrap();
    assert!(out.runs.iter().any(|r| r.wiped_at.is_some()), "the crash wipes the 3x token");

    let dir = temp_dir("plots");
    let started = Instant::now();
    let written = plots::render("TEST", &out.runs, &dir).unwrap();
    let secs = started.elapsed().as_secs_f64();
    eprintln!("rendered {} plots in {secs:.2} s", written.len());

    let names: Vec<&str> = written.iter().map(|p| p.file.as_str()).collect();
    assert_eq!(names, ["TEST-long3x-nav.png", "TEST-long3x-leverage.png", "TEST-short1x-nav.png", "TEST-short1x-leverage.png", "TEST-drawdown.png", "TEST-costs.png"]);
    let expected_height = |p: &Plot| match p.file.as_str() {
        f if f.ends_with("-nav.png") => NAV_HEIGHT,
        f if f.ends_with("-leverage.png") => TITLE_HEIGHT + PANEL_HEIGHT * 3, // one panel per policy
        _ => TITLE_HEIGHT + PANEL_HEIGHT * 2,                                 // one panel per target
    };
    for p in &written {
        let bytes = std::fs::read(dir.join(&p.file)).unwrap_or_else(|e| panic!("{}: {e}", p.file));
        assert_eq!(png_size(&bytes), (WIDTH, expected_height(p)), "{}", p.file);
        assert_eq!((p.width, p.height), (WIDTH, expected_height(p)), "{}", p.file);
        assert!(bytes.len() > 8_000, "{}: only {} bytes", p.file, bytes.len());
        assert!(bytes.len() < 150_000, "{}: {} bytes", p.file, bytes.len());
        // Lines in several policy colours, grid, anti-aliased text.
        assert!(colours_used(&bytes) >= 16, "{}: {} colours", p.file, colours_used(&bytes));
    }

    let md = plots::markdown(&written, "plots");
    for p in &written {
        assert!(md.contains(&format!("](plots/{})", p.file)), "{md}");
    }
    // LT_KEEP_PLOTS=1 keeps them for a look.
    if std::env::var_os("LT_KEEP_PLOTS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept in {}", dir.display());
    }
}

#[test]
fn a_blank_canvas_is_written_as_a_one_colour_png_that_the_content_checks_would_reject() {
    // The checks above tell content from an empty canvas: the same encoder on
    // a white buffer gives one colour and a tiny file.
    let dir = temp_dir("blank");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("blank.png");
    plots::write_png(&f, &vec![255u8; 300 * 200 * 3], 300, 200).unwrap();
    let bytes = std::fs::read(&f).unwrap();
    assert_eq!(png_size(&bytes), (300, 200));
    assert_eq!(colours_used(&bytes), 1);
    assert!(bytes.len() < 1_000);
    let _ = std::fs::remove_dir_all(&dir);
}
