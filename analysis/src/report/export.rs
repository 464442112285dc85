//! CSV and JSON exports of every matrix and table, so figures can be recomputed or re-plotted elsewhere
//! (cl.md §4 item 4: "export the accuracy matrix").

use std::path::Path;

use serde::Serialize;

use crate::analysis::RunAnalysis;
use crate::cl_metrics::ScoreMatrix;
use crate::error::{AnalysisError, Result};
use crate::figure::Figure;

/// A CSV document built row by row (RFC 4180 quoting).
#[derive(Debug, Clone, Default)]
pub struct Csv {
    text: String,
}

impl Csv {
    /// Starts a CSV with its header row.
    pub fn new<S: AsRef<str>>(header: &[S]) -> Self {
        let mut csv = Self::default();
        csv.row(header);
        csv
    }

    /// Appends one row.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        let quoted: Vec<String> = cells.iter().map(|c| quote(c.as_ref())).collect();
        self.text.push_str(&quoted.join(","));
        self.text.push('\n');
    }

    /// Writes the document.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, &self.text).map_err(|e| AnalysisError::io(path, e))
    }
}

fn quote(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell.to_owned() }
}

/// A number at full precision, or empty when absent.
pub fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `value, low, high` cells of a figure (empty when unavailable).
pub fn figure_cells(f: &Figure) -> [String; 3] {
    let interval = f.interval();
    [num(f.value()), num(interval.map(|i| i.low)), num(interval.map(|i| i.high))]
}

/// Header cells `name, name_low, name_high`.
pub fn figure_header(name: &str) -> [String; 3] {
    [name.to_owned(), format!("{name}_low"), format!("{name}_high")]
}

/// Writes pretty-printed JSON.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| AnalysisError::Invalid {
        path: path.to_path_buf(),
        line: None,
        message: format!("could not serialise: {e}"),
    })?;
    std::fs::write(path, text + "\n").map_err(|e| AnalysisError::io(path, e))
}

/// Writes every per-run export into `dir`: wide success and reward matrices, the cells with intervals, the
/// per-update, per-domain and `pass^k` tables, and everything as one JSON file.
pub fn write_run_exports(analysis: &RunAnalysis, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    wide_matrix(analysis, &analysis.success).write(&dir.join("matrix_success.csv"))?;
    wide_matrix(analysis, &analysis.reward).write(&dir.join("matrix_reward.csv"))?;

    let mut header = vec!["row".to_owned(), "after".to_owned(), "domain".to_owned()];
    header.extend(figure_header("success"));
    header.push("mean_reward".to_owned());
    let mut cells = Csv::new(&header);
    for (r, after, scores, rewards) in numbered_rows(analysis) {
        for (j, domain) in analysis.domains.iter().enumerate() {
            let interval = analysis.cell_interval(r, j);
            cells.row(&[
                r.to_string(),
                after.clone(),
                domain.clone(),
                scores[j].to_string(),
                num(interval.map(|i| i.low)),
                num(interval.map(|i| i.high)),
                rewards[j].to_string(),
            ]);
        }
    }
    cells.write(&dir.join("matrix_cells.csv"))?;

    let mut header = vec!["t".to_owned(), "domain".to_owned()];
    for name in ["acc", "la", "bwt", "forgetting", "fwt"] {
        header.extend(figure_header(name));
    }
    let mut updates = Csv::new(&header);
    for u in &analysis.per_update {
        let mut row = vec![u.t.to_string(), u.domain.clone()];
        for f in [&u.acc, &u.la, &u.bwt, &u.forgetting, &u.fwt] {
            row.extend(figure_cells(f));
        }
        updates.row(&row);
    }
    updates.write(&dir.join("per_update.csv"))?;

    let mut header = vec!["domain".to_owned()];
    let names = ["before", "learned", "last", "forgetting", "relative_forgetting", "forward_transfer", "intransigence"];
    for name in names {
        header.extend(figure_header(name));
    }
    let mut domains = Csv::new(&header);
    for d in &analysis.per_domain {
        let mut row = vec![d.domain.clone()];
        for f in [
            &d.before,
            &d.learned,
            &d.last,
            &d.forgetting,
            &d.relative_forgetting,
            &d.forward_transfer,
            &d.intransigence,
        ] {
            row.extend(figure_cells(f));
        }
        domains.row(&row);
    }
    domains.write(&dir.join("per_domain.csv"))?;

    let mut header = vec!["row".to_owned(), "domain".to_owned(), "k".to_owned()];
    header.extend(figure_header("pass_k"));
    let mut pass = Csv::new(&header);
    for p in &analysis.pass_k {
        let mut row = vec![p.row.to_string(), p.domain.clone(), p.k.to_string()];
        row.extend(figure_cells(&p.value));
        pass.row(&row);
    }
    pass.write(&dir.join("pass_k.csv"))?;

    write_json(&dir.join("analysis.json"), analysis)
}

fn wide_matrix(analysis: &RunAnalysis, matrix: &ScoreMatrix) -> Csv {
    let mut header = vec!["row".to_owned(), "after".to_owned()];
    header.extend(analysis.domains.iter().cloned());
    let mut csv = Csv::new(&header);
    let rows = matrix.before.iter().map(|r| (0, r)).chain(matrix.after.iter().enumerate().map(|(i, r)| (i + 1, r)));
    for (r, scores) in rows {
        let mut row = vec![r.to_string(), after_label(analysis, r)];
        row.extend(scores.iter().map(f64::to_string));
        csv.row(&row);
    }
    csv
}

/// `(row index, after-domain label, success row, reward row)` in stored order.
fn numbered_rows(analysis: &RunAnalysis) -> Vec<(usize, String, Vec<f64>, Vec<f64>)> {
    let mut rows = Vec::new();
    if let (Some(s), Some(r)) = (&analysis.success.before, &analysis.reward.before) {
        rows.push((0, after_label(analysis, 0), s.clone(), r.clone()));
    }
    for (i, (s, r)) in analysis.success.after.iter().zip(&analysis.reward.after).enumerate() {
        rows.push((i + 1, after_label(analysis, i + 1), s.clone(), r.clone()));
    }
    rows
}

fn after_label(analysis: &RunAnalysis, r: usize) -> String {
    if r == 0 { String::new() } else { analysis.domains[r - 1].clone() }
}
