//! The accuracy matrix R as a heatmap: rows = "before training" (top) then "after domain i", columns = evaluated
//! domain, value printed in each cell. Upper triangle = zero-shot transfer, diagonal = plasticity, lower = retention.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, FONT, msg};

/// Heatmap of one run's success matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixHeatmap {
    /// Chart title.
    pub title: String,
    /// Column labels (evaluated domains).
    pub domains: Vec<String>,
    /// Row labels and values in [0, 1], top row first.
    pub rows: Vec<(String, Vec<f64>)>,
}

const WIDTH: u32 = 800;
const HEIGHT: u32 = 520;
const LEFT: i32 = 190;
const TOP: i32 = 100;
const RIGHT: i32 = 30;
const BOTTOM: i32 = 50;

impl Chart for MatrixHeatmap {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(msg)?;
        let centered = Pos::new(HPos::Center, VPos::Center);
        let title = TextStyle::from((FONT, 22).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(self.title.clone(), (WIDTH as i32 / 2, 12), title)).map_err(msg)?;
        let cols = self.domains.len().max(1) as i32;
        let rows = self.rows.len().max(1) as i32;
        let cell_w = (WIDTH as i32 - LEFT - RIGHT) / cols;
        let cell_h = (HEIGHT as i32 - TOP - BOTTOM) / rows;
        let axis = TextStyle::from((FONT, 15).into_font()).color(&BLACK);
        root.draw(&Text::new(
            "evaluated on →".to_owned(),
            (LEFT + cell_w * cols / 2, TOP - 48),
            axis.clone().pos(centered),
        ))
        .map_err(msg)?;
        for (j, domain) in self.domains.iter().enumerate() {
            let x = LEFT + cell_w * j as i32 + cell_w / 2;
            root.draw(&Text::new(domain.clone(), (x, TOP - 20), axis.clone().pos(centered))).map_err(msg)?;
        }
        let value_size = (cell_h / 3).clamp(11, 22);
        for (r, (label, values)) in self.rows.iter().enumerate() {
            let y0 = TOP + cell_h * r as i32;
            root.draw(&Text::new(
                label.clone(),
                (LEFT - 10, y0 + cell_h / 2),
                axis.clone().pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(msg)?;
            for (j, &v) in values.iter().enumerate() {
                let x0 = LEFT + cell_w * j as i32;
                let fill = ViridisRGB.get_color(v.clamp(0.0, 1.0) as f32);
                root.draw(&Rectangle::new([(x0, y0), (x0 + cell_w, y0 + cell_h)], fill.filled())).map_err(msg)?;
                root.draw(&Rectangle::new([(x0, y0), (x0 + cell_w, y0 + cell_h)], WHITE.stroke_width(2)))
                    .map_err(msg)?;
                // Viridis is dark below ~0.6: white text there, black above.
                let ink = if v < 0.6 { WHITE } else { BLACK };
                let text = TextStyle::from((FONT, value_size).into_font()).color(&ink).pos(centered);
                root.draw(&Text::new(format!("{v:.2}"), (x0 + cell_w / 2, y0 + cell_h / 2), text)).map_err(msg)?;
            }
        }
        let note = TextStyle::from((FONT, 13).into_font())
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(
            "rows: model after training through; above diagonal = zero-shot, below = retention".to_owned(),
            (20, HEIGHT as i32 - BOTTOM / 2),
            note,
        ))
        .map_err(msg)?;
        Ok(())
    }
}
