//! Grouped bar charts with interval whiskers: forgetting per domain for each run, and BWT / F / FWT per run.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, FONT, msg, padded_range, palette, tick, whisker};
use crate::figure::Figure;

/// Bars grouped along x; within a group, one bar per series. Unavailable figures are marked `n/a`, not drawn
/// as zero.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedBars {
    /// Chart title.
    pub title: String,
    /// Y-axis label.
    pub y_desc: String,
    /// Group labels along x.
    pub groups: Vec<String>,
    /// Series name and one figure per group (legend entries).
    pub series: Vec<(String, Vec<Figure>)>,
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 540;

impl Chart for GroupedBars {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(msg)?;
        let groups = self.groups.len().max(1);
        let values = self.series.iter().flat_map(|(_, figures)| {
            figures.iter().flat_map(|f| {
                let interval = f.interval();
                [f.value(), interval.map(|i| i.low), interval.map(|i| i.high)]
            })
        });
        let y_range = padded_range(values.flatten(), true);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(65)
            .build_cartesian_2d(0.0..groups as f64, y_range.clone())
            .map_err(msg)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(groups + 1)
            .x_label_formatter(&|_| String::new())
            .y_desc(self.y_desc.as_str())
            .y_label_formatter(&tick)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(msg)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (groups as f64, 0.0)],
                BLACK.stroke_width(1),
            )))
            .map_err(msg)?;
        let n = self.series.len().max(1) as f64;
        let bar = 0.8 / n;
        let small = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (s, (name, figures)) in self.series.iter().enumerate() {
            let color = palette(s);
            let left = |g: usize| g as f64 + 0.1 + bar * s as f64;
            chart
                .draw_series(figures.iter().enumerate().filter_map(|(g, f)| {
                    let v = f.value()?;
                    Some(Rectangle::new([(left(g), 0.0), (left(g) + bar * 0.92, v)], color.filled()))
                }))
                .map_err(msg)?
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
            chart
                .draw_series(figures.iter().enumerate().filter_map(|(g, f)| {
                    let ci = f.interval()?;
                    Some(whisker(left(g) + bar * 0.46, ci.low, ci.high, bar * 0.2, BLACK))
                }))
                .map_err(msg)?;
            chart
                .draw_series(
                    figures
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.value().is_none())
                        .map(|(g, _)| Text::new("n/a".to_owned(), (left(g) + bar * 0.46, 0.0), small.clone())),
                )
                .map_err(msg)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(msg)?;
        // Group names under the axis, centred on each group.
        let label = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (g, name) in self.groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64 + 0.5, y_range.start));
            root.draw(&Text::new(name.clone(), (x, y + 8), label.clone())).map_err(msg)?;
        }
        Ok(())
    }
}
