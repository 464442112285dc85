//! Line charts over the run: per-domain success across the global step, training diagnostics, and `ACC_t`
//! against the number of domains seen.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, FONT, msg, padded_range, palette, tick, whisker};
use crate::curves::{DomainSpan, Series};
use crate::figure::Figure;

/// Success on every domain across the global step of one run, with a vertical line at each domain switch, so
/// forgetting shows up the moment it happens.
#[derive(Debug, Clone, PartialEq)]
pub struct SuccessCurves {
    /// Chart title.
    pub title: String,
    /// One series per domain, in task order (colour follows the order).
    pub series: Vec<Series>,
    /// Training span of each domain.
    pub spans: Vec<DomainSpan>,
}

/// Training diagnostics (reward, KL, entropy, …) of one run, one panel per metric.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingCurves {
    /// Chart title.
    pub title: String,
    /// One panel per series.
    pub panels: Vec<Series>,
    /// Training span of each domain.
    pub spans: Vec<DomainSpan>,
}

/// `ACC_t` against the number of domains seen, one line per run, with interval bars.
#[derive(Debug, Clone, PartialEq)]
pub struct AccCurves {
    /// Chart title.
    pub title: String,
    /// Run name and its `ACC_1..ACC_T`.
    pub runs: Vec<(String, Vec<Figure>)>,
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 540;
const PANEL_HEIGHT: u32 = 300;

impl Chart for SuccessCurves {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(msg)?;
        StepChart {
            title: &self.title,
            y_desc: "success",
            series: &self.series,
            spans: &self.spans,
            y_range: Some(0.0..1.05),
            legend: true,
            first_color: 0,
        }
        .draw(root)
    }
}

impl Chart for TrainingCurves {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 60 + PANEL_HEIGHT * self.panels.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(msg)?;
        let body = root.titled(&self.title, (FONT, 22).into_font()).map_err(msg)?;
        let panels = body.split_evenly((self.panels.len().max(1), 1));
        for (i, (area, series)) in panels.iter().zip(&self.panels).enumerate() {
            StepChart {
                title: "",
                y_desc: &series.name,
                series: std::slice::from_ref(series),
                spans: &self.spans,
                y_range: None,
                legend: false,
                first_color: i,
            }
            .draw(area)?;
        }
        Ok(())
    }
}

impl Chart for AccCurves {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(msg)?;
        let max_t = self.runs.iter().map(|(_, f)| f.len()).max().unwrap_or(0).max(1) as i32;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..max_t as f64 + 1.0, 0.0..1.05)
            .map_err(msg)?;
        chart
            .configure_mesh()
            .x_labels((max_t + 2) as usize)
            .x_label_formatter(&|x| {
                let t = x.round();
                if (x - t).abs() < 1e-9 && (1.0..=max_t as f64).contains(&t) {
                    format!("{t:.0}")
                } else {
                    String::new()
                }
            })
            .x_desc("domains seen")
            .y_desc("ACC_t")
            .y_label_formatter(&tick)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(msg)?;
        for (i, (name, figures)) in self.runs.iter().enumerate() {
            let color = palette(i);
            let points: Vec<(f64, f64)> =
                figures.iter().enumerate().filter_map(|(t, f)| f.value().map(|v| (t as f64 + 1.0, v))).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(msg)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(msg)?;
            chart
                .draw_series(figures.iter().enumerate().filter_map(|(t, f)| {
                    let ci = f.interval()?;
                    Some(whisker(t as f64 + 1.0, ci.low, ci.high, 0.06, color))
                }))
                .map_err(msg)?;
        }
        legend(&mut chart)
    }
}

/// A line chart over the global step with dashed lines at domain switches and domain names on top.
struct StepChart<'a> {
    title: &'a str,
    y_desc: &'a str,
    series: &'a [Series],
    spans: &'a [DomainSpan],
    /// Fixed y range, or `None` to fit the data.
    y_range: Option<std::ops::Range<f64>>,
    legend: bool,
    /// Palette index of the first series.
    first_color: usize,
}

impl StepChart<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let StepChart { title, y_desc, series, spans, legend: with_legend, first_color, .. } = *self;
        let max_x = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(spans.iter().map(|s| s.end))
            .fold(1.0f64, f64::max);
        let y_range = self
            .y_range
            .clone()
            .unwrap_or_else(|| padded_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)), false));
        let mut builder = ChartBuilder::on(area);
        builder.margin(12).x_label_area_size(40).y_label_area_size(65);
        if !title.is_empty() {
            builder.caption(title, (FONT, 22));
        }
        let mut chart = builder.build_cartesian_2d(0.0..max_x, y_range.clone()).map_err(msg)?;
        chart
            .configure_mesh()
            .x_desc("global step")
            .y_desc(y_desc)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(msg)?;
        let boundary = RGBColor(120, 120, 120);
        for (n, span) in spans.iter().enumerate() {
            if n + 1 < spans.len() {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(span.end, y_range.start), (span.end, y_range.end)],
                        6,
                        4,
                        boundary.stroke_width(1),
                    ))
                    .map_err(msg)?;
            }
            let label = TextStyle::from((FONT, 14).into_font()).color(&boundary).pos(Pos::new(HPos::Center, VPos::Top));
            let top = y_range.end - (y_range.end - y_range.start) * 0.01;
            chart
                .draw_series(std::iter::once(Text::new(
                    span.domain.clone(),
                    ((span.start + span.end) / 2.0, top),
                    label,
                )))
                .map_err(msg)?;
        }
        if series.iter().all(|s| s.points.is_empty()) {
            let note = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
            let middle = (y_range.start + y_range.end) / 2.0;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("no {y_desc} values in metrics.jsonl"),
                    (max_x / 2.0, middle),
                    note,
                )))
                .map_err(msg)?;
            return Ok(());
        }
        for (i, s) in series.iter().enumerate() {
            let color = palette(first_color + i);
            chart
                .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))
                .map_err(msg)?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            if s.points.len() <= 60 {
                chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(msg)?;
            }
        }
        if with_legend {
            legend(&mut chart)?;
        }
        Ok(())
    }
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(msg)
}
