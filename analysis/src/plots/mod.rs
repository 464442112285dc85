//! Plots as PNG and SVG with a bundled font (DejaVu Sans, `assets/`), so no system font or fontconfig is needed.
//!
//! Every chart is a value implementing [`Chart`], drawn by the same code on either backend: the PNG goes to a
//! file, the SVG to a file and to a string the HTML report inlines.

mod bars;
mod heatmap;
mod lines;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

pub use bars::GroupedBars;
pub use heatmap::MatrixHeatmap;
pub use lines::{AccCurves, SuccessCurves, TrainingCurves};

use crate::error::{AnalysisError, Result};

/// Family name every chart uses; registered with the bundled font.
pub(crate) const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static FONT_REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Registers the bundled font once per process.
fn ensure_font() -> Result<()> {
    FONT_REGISTERED
        .get_or_init(|| {
            register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the bundled DejaVuSans.ttf could not be parsed".to_owned())
        })
        .clone()
        .map_err(|message| AnalysisError::Plot { name: "font".into(), message })
}

/// A chart that can draw itself on any plotters backend.
pub trait Chart {
    /// Image size in pixels `(width, height)`.
    fn size(&self) -> (u32, u32);
    /// Draws the whole chart on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String>;
}

/// Where a chart was written.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotFiles {
    /// PNG path.
    pub png: PathBuf,
    /// SVG path.
    pub svg: PathBuf,
    /// The SVG document, for inlining.
    pub svg_text: String,
}

/// Draws `chart` into `<dir>/<stem>.png` and `<dir>/<stem>.svg`.
pub fn write_chart(chart: &impl Chart, dir: &Path, stem: &str) -> Result<PlotFiles> {
    std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    let png = dir.join(format!("{stem}.png"));
    render_png(chart, &png).map_err(|message| AnalysisError::Plot { name: stem.to_owned(), message })?;
    let svg_text = render_svg(chart).map_err(|message| AnalysisError::Plot { name: stem.to_owned(), message })?;
    let svg = dir.join(format!("{stem}.svg"));
    std::fs::write(&svg, &svg_text).map_err(|e| AnalysisError::io(&svg, e))?;
    Ok(PlotFiles { png, svg, svg_text })
}

/// Draws `chart` into a PNG file.
pub fn render_png(chart: &impl Chart, path: &Path) -> std::result::Result<(), String> {
    ensure_font().map_err(|e| e.to_string())?;
    let root = BitMapBackend::new(path, chart.size()).into_drawing_area();
    chart.draw(&root)?;
    root.present().map_err(|e| e.to_string())
}

/// Draws `chart` into an SVG string.
pub fn render_svg(chart: &impl Chart) -> std::result::Result<String, String> {
    ensure_font().map_err(|e| e.to_string())?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, chart.size()).into_drawing_area();
        chart.draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// Colour `i` of a fixed, colour-blind-friendly cycle (Tableau 10), so a domain or run keeps its colour.
pub(crate) fn palette(i: usize) -> RGBColor {
    const COLORS: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = COLORS[i % COLORS.len()];
    RGBColor(r, g, b)
}

/// Shorthand for turning any plotters error into the message `Chart::draw` returns.
pub(crate) fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// `lo..hi` padded by 8 % of the span so lines and bars do not touch the frame (a flat series gets ±10 % of its
/// magnitude, or ±0.1 around zero).
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>, include_zero: bool) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    let span = hi - lo;
    let pad = if span > 0.0 { span * 0.08 } else { (hi.abs() * 0.1).max(0.1) };
    (lo - pad)..(hi + pad)
}

/// Axis tick label: integers without decimals, otherwise up to 3 significant decimals, never `-0`.
pub(crate) fn tick(v: &f64) -> String {
    let rounded = v.round();
    let text = if (v - rounded).abs() < 1e-9 * v.abs().max(1.0) {
        format!("{rounded:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    if text == "-0" { "0".to_owned() } else { text }
}

/// An interval whisker at `x` from `low` to `high` with caps `cap` wide (plotters' `ErrorBar` needs a feature the
/// workspace does not enable; this is the same drawing).
pub(crate) fn whisker(x: f64, low: f64, high: f64, cap: f64, color: RGBColor) -> PathElement<(f64, f64)> {
    let half = cap / 2.0;
    PathElement::new(
        vec![(x - half, low), (x + half, low), (x, low), (x, high), (x - half, high), (x + half, high)],
        color.stroke_width(1),
    )
}
