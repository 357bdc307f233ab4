//! PNG plots of replayed runs (plotters, bitmap backend). Pure functions of the
//! runs: each writes a fixed set of files with stable names into a directory.
//!
//! Per asset × target leverage:
//! * `{asset}-{long3x|short1x|…}-nav.png` — NAV per share of every policy, the
//!   ideal daily-compounded target return and the underlying, 1 at the start, log scale;
//! * `{asset}-{…}-leverage.png` — one panel per policy: |leverage| at each daily
//!   close, the target, the policy's band and ripcord, a tick per rebalance.
//!
//! Per asset: `{asset}-drawdown.png` and `{asset}-costs.png`, one panel per target
//! leverage, one line per policy.
//!
//! Text uses DejaVu Sans embedded with `include_bytes!` (see
//! `assets/DejaVuSans-LICENSE.txt`) through plotters' `ab_glyph` feature: no
//! system fonts or fontconfig at run time.

use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, bail, Result};
use leveraged_token_sdk::prices::DAY_MS;
use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::engine::{Run, HOLDING, UNIT};
use crate::policy::Policy;
use crate::report::date;

/// Width of every plot in pixels.
pub const WIDTH: u32 = 1200;
/// Height of a NAV plot.
pub const NAV_HEIGHT: u32 = 700;
/// Height of one panel of a multi-panel plot (leverage: per policy; drawdown, costs: per target).
pub const PANEL_HEIGHT: u32 = 260;
/// Extra height of a multi-panel plot for its title.
pub const TITLE_HEIGHT: u32 = 40;
/// Lowest value on the log NAV axis (1 at the start): a wiped token is drawn here.
pub const LOG_FLOOR: f64 = 1e-4;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// One written plot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plot {
    /// File name inside the output directory.
    pub file: String,
    /// Alt text / heading.
    pub title: String,
    pub width: u32,
    pub height: u32,
}

fn font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font always parses; a failure here is a corrupt build.
        if register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("embedded DejaVuSans.ttf failed to parse");
        }
    });
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e}")
}

/// A picture being drawn, or a part of it.
type Canvas<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Draw a `WIDTH` × `height` picture titled `title` with `draw` and write it
/// to `dir/file` as a PNG.
fn draw_png(dir: &Path, file: String, title: String, height: u32, draw: impl FnOnce(&Canvas<'_>) -> Result<()>) -> Result<Plot> {
    let mut buf = vec![255u8; WIDTH as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(&title, (FAMILY, 20)).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    write_png(&dir.join(&file), &buf, WIDTH, height)?;
    Ok(Plot { file, title, width: WIDTH, height })
}

/// Write an RGB buffer as a PNG: 8-bit indexed when the picture has at most 256
/// colours, otherwise the 256 most frequent colours with every other pixel
/// mapped to its nearest one (only anti-aliased text edges and tick shades are
/// affected), at the best deflate level. A chart is mostly a few flat colours,
/// so this is ~3–5× smaller than plotters' own RGB encoding.
pub fn write_png(path: &Path, rgb: &[u8], width: u32, height: u32) -> Result<()> {
    use std::collections::HashMap;
    if rgb.len() != width as usize * height as usize * 3 {
        bail!("buffer of {} bytes for {width}×{height}", rgb.len());
    }
    let mut counts: HashMap<[u8; 3], u64> = HashMap::new();
    for px in rgb.chunks_exact(3) {
        *counts.entry([px[0], px[1], px[2]]).or_default() += 1;
    }
    let mut by_freq: Vec<([u8; 3], u64)> = counts.into_iter().collect();
    // Most frequent first; ties by colour so the output is deterministic.
    by_freq.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let palette: Vec<[u8; 3]> = by_freq.iter().take(256).map(|c| c.0).collect();
    let mut index: HashMap<[u8; 3], u8> = palette.iter().enumerate().map(|(i, c)| (*c, i as u8)).collect();
    for (c, _) in by_freq.iter().skip(256) {
        let dist = |p: &[u8; 3]| (0..3).map(|k| (i32::from(p[k]) - i32::from(c[k])).pow(2)).sum::<i32>();
        let nearest = (0..palette.len()).min_by_key(|&i| dist(&palette[i])).unwrap_or(0);
        index.insert(*c, nearest as u8);
    }
    let pixels: Vec<u8> = rgb.chunks_exact(3).map(|px| index[&[px[0], px[1], px[2]]]).collect();
    let file = std::fs::File::create(path).map_err(|e| anyhow!("creating {}: {e}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(palette.concat());
    enc.set_compression(png::Compression::Best);
    enc.set_filter(png::FilterType::NoFilter);
    let mut w = enc.write_header().map_err(err)?;
    w.write_image_data(&pixels).map_err(err)?;
    w.finish().map_err(err)?;
    Ok(())
}

/// Stable colour per policy.
fn colour(p: Policy) -> RGBColor {
    match p {
        Policy::Defaults => RGBColor(31, 119, 180),
        Policy::Derisk => RGBColor(148, 103, 189),
        Policy::Ftx => RGBColor(255, 127, 14),
        Policy::Fli => RGBColor(44, 160, 44),
        Policy::Daily => RGBColor(214, 39, 40),
        Policy::Late => RGBColor(23, 190, 207),
        Policy::Responsive => RGBColor(227, 119, 194),
        Policy::Mid => RGBColor(188, 189, 34),
        Policy::EightHourly => RGBColor(140, 86, 75),
    }
}

const GREY: RGBColor = RGBColor(150, 150, 150);

/// `long3x`, `short1x`, `long2.5x`: a file-name-safe tag of a signed target.
pub fn leverage_tag(target_bps: i32) -> String {
    let side = if target_bps < 0 { "short" } else { "long" };
    format!("{side}{}x", f64::from(target_bps.unsigned_abs()) / 10_000.0)
}

fn leverage_label(target_bps: i32) -> String {
    format!("{:+}x", f64::from(target_bps) / 10_000.0)
}

fn day(unix_ms: i64) -> f64 {
    unix_ms as f64 / DAY_MS as f64
}

fn day_label(x: &f64) -> String {
    date((x * DAY_MS as f64).round() as i64)
}

/// A number with as many decimals as its magnitude needs (log axis labels).
fn short_num(v: &f64) -> String {
    let v = *v;
    if v <= 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (-v.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

fn pct_label(v: &f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1}%", x * 100.0)
    } else {
        "n/a".into()
    }
}

/// Targets and policies in order of first appearance.
fn groups(runs: &[Run]) -> (Vec<i32>, Vec<Policy>) {
    let mut targets = Vec::new();
    let mut policies = Vec::new();
    for r in runs {
        if !targets.contains(&r.target_bps) {
            targets.push(r.target_bps);
        }
        if !policies.contains(&r.policy) {
            policies.push(r.policy);
        }
    }
    (targets, policies)
}

/// Days since 1970-01-01 of a civil date (UTC); inverse of `report::date`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// X axis (days since the epoch) with ticks on month starts, every 1, 2, 3, 6,
/// 12 or 24 months, whichever keeps at most 9 ticks; labelled `YYYY` for yearly
/// ticks, `YYYY-MM` otherwise (`YYYY-MM-DD` on ticks every few days for runs shorter
/// than two months).
type XCoord = DateAxis;

/// An f64 axis (linear or log) with given tick positions (plotters' `WithKeyPoints`
/// over f64 has no label formatter in 0.3.7).
#[derive(Clone)]
pub struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

/// A linear axis of days with date ticks.
pub type DateAxis = Ticked<RangedCoordf64>;

/// A log axis with ticks at 1-2-5 per decade (1…9 for a narrow range), or at powers of ten (every
/// second, third… decade) when that would be more than 12 ticks.
pub type LogAxis = Ticked<LogCoord<f64>>;

fn log_axis(range: Range<f64>) -> LogAxis {
    let (lo, hi) = (range.start.log10().floor() as i32, range.end.log10().ceil() as i32);
    let inside = |v: &f64| *v >= range.start && *v <= range.end;
    let mut ticks: Vec<f64> = (lo..=hi).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e))).filter(inside).collect();
    if ticks.len() < 5 {
        ticks = (lo..=hi).flat_map(|e| (1..10).map(move |m| f64::from(m) * 10f64.powi(e))).filter(inside).collect();
    }
    if ticks.len() > 12 {
        let every = ((hi - lo) / 10 + 1).max(1) as usize;
        ticks = (lo..=hi).step_by(every).map(|e| 10f64.powi(e)).filter(inside).collect();
    }
    Ticked { inner: range.log_scale().into(), ticks }
}

fn with_ticks(range: Range<f64>, ticks: Vec<f64>) -> DateAxis {
    Ticked { inner: range.into(), ticks }
}

fn x_range(runs: &[&Run]) -> Range<f64> {
    let lo = runs.iter().filter_map(|r| r.rows.first()).map(|r| day(r.unix_ms)).fold(f64::INFINITY, f64::min);
    let hi = runs.iter().filter_map(|r| r.rows.last()).map(|r| day(r.unix_ms)).fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() && hi > lo {
        lo..hi
    } else {
        0.0..1.0
    }
}

fn x_axis(range: Range<f64>) -> (XCoord, fn(&f64) -> String) {
    let (y0, m0) = {
        let d = date((range.start * DAY_MS as f64) as i64);
        (d[..4].parse::<i64>().unwrap_or(1970), d[5..7].parse::<i64>().unwrap_or(1))
    };
    let month_ticks = |step: i64| -> Vec<f64> {
        let mut v = Vec::new();
        let mut k = (y0 * 12 + m0 - 1).div_euclid(step) * step;
        loop {
            let x = days_from_civil(k.div_euclid(12), k.rem_euclid(12) + 1, 1) as f64;
            if x > range.end {
                break v;
            }
            if x >= range.start {
                v.push(x);
            }
            k += step;
        }
    };
    for step in [1, 2, 3, 6, 12, 24] {
        let t = month_ticks(step);
        if t.len() > 9 {
            continue;
        }
        if t.len() >= 3 {
            let f: fn(&f64) -> String = if step >= 12 { |x| day_label(x)[..4].to_string() } else { |x| day_label(x)[..7].to_string() };
            return (with_ticks(range, t), f);
        }
        // Fewer than three month starts: a short run, ticks every few days.
        let span = range.end - range.start;
        let every = [1.0, 2.0, 5.0, 7.0, 14.0].into_iter().find(|e| span / e <= 9.0).unwrap_or(28.0);
        let ticks = (0..).map(|i| range.start.ceil() + f64::from(i) * every).take_while(|x| *x <= range.end).collect();
        return (with_ticks(range, ticks), day_label);
    }
    let t = month_ticks(60);
    (with_ticks(range, t), |x| day_label(x)[..4].to_string())
}

/// Rows up to and including the first one with no equity left (later rows are all zero).
fn live_rows(r: &Run) -> &[crate::engine::Row] {
    match r.rows.iter().position(|x| x.nav <= 0.0) {
        Some(i) => &r.rows[..=i],
        None => &r.rows,
    }
}

/// Write every plot of one asset's runs into `dir` (created if missing).
/// Returns the plots in the order the report shows them.
pub fn render(asset: &str, runs: &[Run], dir: &Path) -> Result<Vec<Plot>> {
    font();
    std::fs::create_dir_all(dir)?;
    if runs.iter().any(|r| r.rows.is_empty()) {
        bail!("a run without rows");
    }
    let (targets, policies) = groups(runs);
    let mut out = Vec::new();
    for &t in &targets {
        let rs: Vec<&Run> = policies.iter().filter_map(|p| runs.iter().find(|r| r.target_bps == t && r.policy == *p)).collect();
        out.push(nav_plot(asset, t, &rs, dir)?);
        out.push(leverage_plot(asset, t, &rs, dir)?);
    }
    let by_target: Vec<(i32, Vec<&Run>)> = targets.iter().map(|&t| (t, policies.iter().filter_map(|p| runs.iter().find(|r| r.target_bps == t && r.policy == *p)).collect())).collect();
    out.push(drawdown_plot(asset, &by_target, dir)?);
    out.push(costs_plot(asset, &by_target, dir)?);
    Ok(out)
}

/// Markdown embedding `plots` (paths relative to the report: `{rel_dir}/{file}`).
pub fn markdown(plots: &[Plot], rel_dir: &str) -> String {
    plots.iter().map(|p| format!("![{}]({rel_dir}/{})\n\n", p.title, p.file)).collect()
}

fn nav_plot(asset: &str, target: i32, runs: &[&Run], dir: &Path) -> Result<Plot> {
    let file = format!("{asset}-{}-nav.png", leverage_tag(target));
    let title = format!("{asset} {}: NAV per share vs ideal daily-compounded {} vs underlying (log, 1 at start)", leverage_label(target), leverage_label(target));
    let first = runs[0];
    let (p0, i0) = (first.rows[0].price, first.rows[0].ideal);
    let norm = |r: &Run| -> Vec<(f64, f64)> {
        let n0 = r.rows[0].nav;
        live_rows(r).iter().map(|x| (day(x.unix_ms), (x.nav / n0).max(LOG_FLOOR))).collect()
    };
    let ideal: Vec<(f64, f64)> = first.rows.iter().map(|x| (day(x.unix_ms), (x.ideal / i0).max(LOG_FLOOR))).collect();
    let under: Vec<(f64, f64)> = first.rows.iter().map(|x| (day(x.unix_ms), (x.price / p0).max(LOG_FLOOR))).collect();
    let series: Vec<(&Run, Vec<(f64, f64)>)> = runs.iter().map(|r| (*r, norm(r))).collect();
    let all = series.iter().flat_map(|s| s.1.iter()).chain(ideal.iter()).chain(under.iter()).map(|p| p.1);
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let y = (lo.min(0.5) / 1.5).max(LOG_FLOOR / 1.5)..(hi.max(2.0) * 1.5);
    let (xc, xf) = x_axis(x_range(runs));

    draw_png(dir, file, title, NAV_HEIGHT, |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&plot).margin(12).margin_right(24).x_label_area_size(36).y_label_area_size(70).build_cartesian_2d(xc, log_axis(y)).map_err(err)?;
        mesh(&mut chart, &NAV_GRID, xf, "value of 1 at start (log)", &short_num)?;
        let last = |v: &[(f64, f64)]| v.last().map(|p| p.1 - 1.0).unwrap_or(f64::NAN);
        let mut entries = vec![
            Entry { label: format!("{asset} ({})", pct(last(&under))), colour: GREY, dashed: false },
            Entry { label: format!("ideal daily {} ({})", leverage_label(target), pct(last(&ideal))), colour: BLACK, dashed: true },
        ];
        chart.draw_series(LineSeries::new(under.iter().copied(), GREY.stroke_width(1))).map_err(err)?;
        chart.draw_series(DashedLineSeries::new(ideal.iter().copied(), 6, 4, BLACK.stroke_width(2))).map_err(err)?;
        for (r, s) in &series {
            let c = colour(r.policy);
            let end = match &r.wiped_at {
                Some(d) => format!("wiped {d}"),
                None => pct(r.rows.last().unwrap().nav / r.rows[0].nav - 1.0),
            };
            entries.push(Entry { label: format!("{} ({end})", r.policy.name()), colour: c, dashed: false });
            chart.draw_series(LineSeries::new(s.iter().copied(), c.stroke_width(2))).map_err(err)?;
            if r.wiped_at.is_some() {
                if let Some(&p) = s.last() {
                    chart.draw_series(std::iter::once(Cross::new(p, 6, c.stroke_width(2)))).map_err(err)?;
                }
            }
        }
        side_legend(&side, &entries)
    })
}

/// A chart's grid and labels: how many labels on y, the size of their text
/// (the axis description's is one larger), the grey of the light grid lines.
struct Grid {
    y_labels: usize,
    text: u32,
    light: u8,
}

/// The NAV plot's one tall chart.
const NAV_GRID: Grid = Grid { y_labels: 20, text: 14, light: 235 };
/// A panel of a multi-panel plot.
const PANEL_GRID: Grid = Grid { y_labels: 6, text: 13, light: 238 };

/// Draw a chart's mesh with dates on x.
fn mesh<Y: Ranged<ValueType = f64> + ValueFormatter<f64>>(
    chart: &mut ChartContext<'_, BitMapBackend<'_>, Cartesian2d<XCoord, Y>>,
    grid: &Grid,
    x_fmt: fn(&f64) -> String,
    y_desc: &str,
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<()> {
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(grid.y_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(y_fmt)
        .y_desc(y_desc)
        .label_style((FAMILY, grid.text))
        .axis_desc_style((FAMILY, grid.text + 1))
        .light_line_style(RGBColor(grid.light, grid.light, grid.light))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Width of the legend column right of NAV, drawdown and cost plots.
const LEGEND_WIDTH: u32 = 250;

struct Entry {
    label: String,
    colour: RGBColor,
    dashed: bool,
}

/// A legend in its own column (never over the data), top-aligned.
fn side_legend(area: &Canvas<'_>, entries: &[Entry]) -> Result<()> {
    let (x, mut y) = (8, 50);
    for e in entries {
        let style = e.colour.stroke_width(3);
        if e.dashed {
            for k in 0..3 {
                area.draw(&PathElement::new([(x + k * 10, y), (x + k * 10 + 6, y)], style)).map_err(err)?;
            }
        } else {
            area.draw(&PathElement::new([(x, y), (x + 26, y)], style)).map_err(err)?;
        }
        area.draw(&Text::new(e.label.clone(), (x + 34, y - 8), (FAMILY, 14))).map_err(err)?;
        y += 24;
    }
    Ok(())
}

fn leverage_plot(asset: &str, target: i32, runs: &[&Run], dir: &Path) -> Result<Plot> {
    let file = format!("{asset}-{}-leverage.png", leverage_tag(target));
    let title = format!("{asset} {}: |leverage| at each daily close, band (dashed), ripcord (red), rebalance days (ticks)", leverage_label(target));
    draw_png(dir, file, title, TITLE_HEIGHT + PANEL_HEIGHT * runs.len() as u32, |root| {
        let t = f64::from(target.unsigned_abs()) / 10_000.0;
        let y_max = 2.0 * t;
        let xs = x_range(runs);
        for (area, r) in root.split_evenly((runs.len(), 1)).iter().zip(runs) {
            let c = colour(r.policy);
            let notional = HOLDING / 10_000 * u64::from(target.unsigned_abs());
            let p = r.policy.params(target, UNIT, notional);
            let bps = |b: u32| f64::from(b) / 10_000.0;
            let in_view = |v: f64| v > 0.0 && v < y_max;
            let (bmin, bmax, rip) = (bps(p.band_min_bps), bps(p.band_max_bps), bps(p.ripcord_bps));
            let band = match (in_view(bmin), in_view(bmax)) {
                (false, false) => "no band".to_string(),
                _ => format!("band {}–{}", if in_view(bmin) { format!("{bmin:.2}") } else { "0".into() }, if in_view(bmax) { format!("{bmax:.2}") } else { "∞".into() }),
            };
            let ripcord = if in_view(rip) { format!("ripcord {rip:.2}") } else { "no ripcord".into() };
            let n = r.rows.last().map(|x| x.rebalances).unwrap_or(0);
            let wiped = r.wiped_at.as_ref().map(|d| format!(", wiped {d}")).unwrap_or_default();
            let caption = format!("{}: {band}, {ripcord}, {n} rebalances{wiped}", r.policy.name());
            let mut chart = ChartBuilder::on(area)
                .caption(caption, (FAMILY, 15))
                .margin(8)
                .margin_right(30)
                .x_label_area_size(28)
                .y_label_area_size(60)
                .build_cartesian_2d(x_axis(xs.clone()).0, 0.0..y_max)
                .map_err(err)?;
            mesh(&mut chart, &PANEL_GRID, x_axis(xs.clone()).1, "|leverage|", &|v| format!("{v:.1}"))?;
            let hline = |v: f64| vec![(xs.start, v), (xs.end, v)];
            chart.draw_series(LineSeries::new(hline(t), BLACK.stroke_width(1))).map_err(err)?;
            for b in [bmin, bmax] {
                if in_view(b) {
                    chart.draw_series(DashedLineSeries::new(hline(b), 8, 5, RGBColor(60, 60, 200).stroke_width(1))).map_err(err)?;
                }
            }
            if in_view(rip) {
                chart.draw_series(LineSeries::new(hline(rip), RED.stroke_width(2))).map_err(err)?;
            }
            let rows = live_rows(r);
            let tick = y_max * 0.04;
            chart.draw_series(rows.iter().filter(|x| x.rebalanced).map(|x| PathElement::new([(day(x.unix_ms), 0.0), (day(x.unix_ms), tick)], c.mix(0.6).stroke_width(1)))).map_err(err)?;
            chart.draw_series(LineSeries::new(rows.iter().map(|x| (day(x.unix_ms), x.leverage.abs().min(y_max))), c.stroke_width(1))).map_err(err)?;
        }
        Ok(())
    })
}

fn drawdown_plot(asset: &str, by_target: &[(i32, Vec<&Run>)], dir: &Path) -> Result<Plot> {
    let file = format!("{asset}-drawdown.png");
    let title = format!("{asset}: drawdown of NAV per share from its running peak");
    multi_panel(
        by_target,
        dir,
        file,
        title,
        "drawdown",
        pct_label,
        |r| {
            let mut peak = 0.0f64;
            live_rows(r)
                .iter()
                .map(|x| {
                    peak = peak.max(x.nav);
                    (day(x.unix_ms), if peak > 0.0 { x.nav / peak - 1.0 } else { -1.0 })
                })
                .collect()
        },
        |_| -1.0..0.0,
    )
}

fn costs_plot(asset: &str, by_target: &[(i32, Vec<&Run>)], dir: &Path) -> Result<Plot> {
    let file = format!("{asset}-costs.png");
    let title = format!("{asset}: cumulative costs, funding + borrow + trade fees + keeper rewards + protocol fees (USDC, {} USDC minted per token; below 0: income)", HOLDING / UNIT);
    multi_panel(
        by_target,
        dir,
        file,
        title,
        "USDC",
        |v| format!("{v:.0}"),
        |r| r.rows.iter().map(|x| (day(x.unix_ms), x.costs())).collect(),
        |series| {
            let hi = series.iter().flat_map(|s| s.iter()).map(|p| p.1).fold(0.0f64, f64::max);
            let lo = series.iter().flat_map(|s| s.iter()).map(|p| p.1).fold(0.0f64, f64::min);
            (lo * 1.05)..(hi * 1.05).max(1.0)
        },
    )
}

/// One panel per target leverage, one line per policy.
#[allow(clippy::too_many_arguments)]
fn multi_panel(
    by_target: &[(i32, Vec<&Run>)],
    dir: &Path,
    file: String,
    title: String,
    y_desc: &str,
    y_fmt: fn(&f64) -> String,
    values: impl Fn(&Run) -> Vec<(f64, f64)>,
    y_range: impl Fn(&[Vec<(f64, f64)>]) -> Range<f64>,
) -> Result<Plot> {
    draw_png(dir, file, title, TITLE_HEIGHT + PANEL_HEIGHT * by_target.len() as u32, |root| {
        let (plots, side) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let mut entries: Vec<Entry> = Vec::new();
        for (area, (t, runs)) in plots.split_evenly((by_target.len(), 1)).iter().zip(by_target) {
            let series: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| values(r)).collect();
            let mut chart = ChartBuilder::on(area)
                .caption(format!("target {}", leverage_label(*t)), (FAMILY, 15))
                .margin(8)
                .margin_right(24)
                .x_label_area_size(28)
                .y_label_area_size(70)
                .build_cartesian_2d(x_axis(x_range(runs)).0, y_range(&series))
                .map_err(err)?;
            mesh(&mut chart, &PANEL_GRID, x_axis(x_range(runs)).1, y_desc, &y_fmt)?;
            for (r, s) in runs.iter().zip(&series) {
                let c = colour(r.policy);
                if !entries.iter().any(|e| e.label == r.policy.name()) {
                    entries.push(Entry { label: r.policy.name().to_string(), colour: c, dashed: false });
                }
                chart.draw_series(LineSeries::new(s.iter().copied(), c.stroke_width(2))).map_err(err)?;
            }
        }
        side_legend(&side, &entries)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_inverts_the_reports_date() {
        for d in [-1_000, 0, 59, 60, 365, 10_957, 17_395, 19_782, 20_512, 40_000] {
            let s = date(d * DAY_MS);
            let (y, m, dd) = (s[..4].parse().unwrap(), s[5..7].parse().unwrap(), s[8..].parse().unwrap());
            assert_eq!(days_from_civil(y, m, dd), d, "{s}");
        }
    }

    #[test]
    fn date_ticks_are_years_for_long_runs_and_days_for_short_ones() {
        let d = |s: &str| days_from_civil(s[..4].parse().unwrap(), s[5..7].parse().unwrap(), s[8..].parse().unwrap()) as f64;
        let (axis, f) = x_axis(d("2017-08-17")..d("2026-03-30"));
        let labels: Vec<String> = axis.ticks.iter().map(f).collect();
        assert_eq!(labels, ["2018", "2019", "2020", "2021", "2022", "2023", "2024", "2025", "2026"]);
        let (axis, f) = x_axis(d("2020-01-10")..d("2020-07-01"));
        assert_eq!(axis.ticks.iter().map(f).collect::<Vec<_>>(), ["2020-02", "2020-03", "2020-04", "2020-05", "2020-06", "2020-07"]);
        let (axis, f) = x_axis(d("2020-09-13")..d("2020-11-11"));
        assert!(axis.ticks.len() >= 5 && axis.ticks.len() <= 9, "{:?}", axis.ticks);
        assert_eq!(f(&axis.ticks[0]), "2020-09-13");
    }

    #[test]
    fn file_tags_name_the_side_and_the_multiple() {
        assert_eq!(leverage_tag(30_000), "long3x");
        assert_eq!(leverage_tag(-10_000), "short1x");
        assert_eq!(leverage_tag(25_000), "long2.5x");
    }
}
