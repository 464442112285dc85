//! Every chart renders a PNG of its declared size whose pixels are not all one colour, and an SVG with its text.

use std::path::Path;

use retain_analysis::Figure;
use retain_analysis::Run;
use retain_analysis::cl_metrics::Unavailable;
use retain_analysis::curves::{DomainSpan, Series, domain_spans, success_series, train_series};
use retain_analysis::figure::Interval;
use retain_analysis::plots::{
    AccCurves, Chart, GroupedBars, MatrixHeatmap, SuccessCurves, TrainingCurves, write_chart,
};

use crate::common::fixture;

/// Writes the chart, decodes the PNG and checks size, colour variety and the SVG text.
fn check(chart: &impl Chart, expected_text: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let files = write_chart(chart, tmp.path(), "chart").unwrap();
    let image = image::open(&files.png).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), chart.size());
    let first = *image.get_pixel(0, 0);
    let differing = image.pixels().filter(|p| **p != first).count();
    let total = (image.width() * image.height()) as usize;
    assert!(differing * 100 > total, "only {differing} of {total} pixels differ from the background");
    // Text was rasterised with the bundled font: dark pixels exist besides the coloured marks.
    assert!(image.pixels().any(|p| p.0.iter().all(|&c| c < 60)), "no dark (text) pixels");
    let svg = std::fs::read_to_string(&files.svg).unwrap();
    assert_eq!(svg, files.svg_text);
    assert!(svg.contains("<svg") && svg.contains(expected_text), "SVG lacks {expected_text:?}");
    let (w, h) = chart.size();
    assert!(svg.contains(&format!("width=\"{w}\"")) && svg.contains(&format!("height=\"{h}\"")));
    assert!(Path::new(&files.png).metadata().unwrap().len() > 1000);
}

#[test]
fn heatmap() {
    check(
        &MatrixHeatmap {
            title: "R".into(),
            domains: vec!["airline".into(), "retail".into()],
            rows: vec![
                ("before training".into(), vec![0.1, 0.2]),
                ("after airline".into(), vec![0.8, 0.3]),
                ("after retail".into(), vec![0.5, 0.9]),
            ],
        },
        "after retail",
    );
}

#[test]
fn success_and_training_curves_of_a_fixture_run() {
    let run = Run::load(&fixture("naive")).unwrap();
    let spans = domain_spans(&run);
    assert_eq!(spans.len(), 3);
    assert_eq!((spans[1].start, spans[1].end), (4.0, 8.0));
    let series = success_series(&run);
    assert_eq!(series.len(), 3);
    // Evaluations at steps 0, 2, 4, 6, 8, 10, 12.
    assert_eq!(series[0].points.len(), 7);
    check(&SuccessCurves { title: "success".into(), series, spans: spans.clone() }, "telecom");
    let panels = ["reward", "kl", "entropy"].iter().map(|k| train_series(&run, k)).collect::<Vec<_>>();
    assert!(panels.iter().all(|p| p.points.len() == 12));
    let chart = TrainingCurves { title: "training".into(), panels, spans };
    assert_eq!(chart.size().1, 60 + 3 * 300);
    check(&chart, "entropy");
}

#[test]
fn empty_series_render_a_note_instead_of_failing() {
    let chart = TrainingCurves {
        title: "training".into(),
        panels: vec![Series { name: "kl".into(), points: vec![] }],
        spans: vec![DomainSpan { domain: "airline".into(), start: 0.0, end: 10.0 }],
    };
    check(&chart, "no kl values");
}

#[test]
fn bars_and_acc_curves_with_intervals_and_unavailable_figures() {
    let with = |v: f64| Figure::Value { value: v, interval: Some(Interval { low: v - 0.1, high: v + 0.1 }) };
    check(
        &GroupedBars {
            title: "transfer".into(),
            y_desc: "difference".into(),
            groups: vec!["naive".into(), "replay".into()],
            series: vec![
                ("BWT".into(), vec![with(-0.3), with(-0.05)]),
                ("FWT".into(), vec![Figure::Unavailable(Unavailable::NoRowZero), with(0.1)]),
            ],
        },
        "n/a",
    );
    check(
        &AccCurves {
            title: "ACC".into(),
            runs: vec![
                ("naive".into(), vec![with(0.7), with(0.5), with(0.45)]),
                ("replay".into(), vec![with(0.7), with(0.65)]),
            ],
        },
        "replay",
    );
}
