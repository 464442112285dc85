//! The report end to end on the fixture runs: golden `report.md`, self-contained HTML, exports, determinism.
//! Set `UPDATE_GOLDEN=1` to rewrite `tests/fixtures/report.md` after an intended change.

use std::path::{Path, PathBuf};

use retain_analysis::{BootstrapConfig, ReportOptions, ReportOutput, default_out_dir, write_report};

use crate::common::fixture;

fn options(out: &Path) -> ReportOptions {
    ReportOptions {
        out_dir: out.to_path_buf(),
        bootstrap: BootstrapConfig { replicates: 200, seed: 0, confidence: 0.95 },
        joint: Some(fixture("joint")),
    }
}

fn runs() -> Vec<PathBuf> {
    vec![fixture("naive"), fixture("replay"), fixture("ewc")]
}

fn write(out: &Path) -> ReportOutput {
    write_report(&runs(), &options(out)).unwrap()
}

#[test]
fn report_md_matches_the_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    let output = write(tmp.path());
    let actual = std::fs::read_to_string(&output.markdown).unwrap();
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert!(actual == expected, "report.md differs from {}; rerun with UPDATE_GOLDEN=1 if intended", golden.display());
}

#[test]
fn the_report_is_deterministic_and_has_no_absolute_paths() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (first, second) = (write(a.path()), write(b.path()));
    for (x, y) in [(&first.markdown, &second.markdown), (&first.html, &second.html)] {
        assert_eq!(std::fs::read_to_string(x).unwrap(), std::fs::read_to_string(y).unwrap());
    }
    let md = std::fs::read_to_string(&first.markdown).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(!md.contains(root) && !md.contains(&a.path().display().to_string()));
    assert_eq!(first.summary.len(), 3);
    assert!(first.summary[0].starts_with("naive: ACC 0.483 ["), "{}", first.summary[0]);
    assert!(first.summary[2].contains("FWT n/a") && first.summary[2].contains("unfinished"));
}

#[test]
fn the_html_is_self_contained_with_every_plot_inline() {
    let tmp = tempfile::tempdir().unwrap();
    let output = write(tmp.path());
    let html = std::fs::read_to_string(&output.html).unwrap();
    // 3 comparison plots + 3 per run for 3 runs and the reference.
    assert_eq!(html.matches("<svg").count(), 3 + 3 * 4);
    assert!(!html.contains("<img") && !html.contains("src=") && !html.contains("<link"));
    assert!(!html.contains("<?xml"));
    assert!(html.contains("<table>") && html.contains("joint reference"));
    let md = std::fs::read_to_string(&output.markdown).unwrap();
    for line in md.lines().filter(|l| l.starts_with("![")) {
        let target = line.split("](").nth(1).unwrap().trim_end_matches(')');
        assert!(tmp.path().join(target).is_file(), "{target} missing");
        assert!(tmp.path().join(target.replace(".png", ".svg")).is_file());
    }
}

#[test]
fn every_matrix_and_table_is_exported() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path());
    let data = tmp.path().join("data");
    let read = |p: &str| std::fs::read_to_string(data.join(p)).unwrap();

    let matrix = read("naive/matrix_success.csv");
    let lines: Vec<&str> = matrix.lines().collect();
    assert_eq!(lines[0], "row,after,airline,retail,telecom");
    assert_eq!(lines[1], "0,,0.2,0.15,0.1");
    assert_eq!(lines[4], "3,telecom,0.25,0.4,0.8");
    assert_eq!(read("naive/matrix_reward.csv").lines().count(), 5);
    let cells = read("naive/matrix_cells.csv");
    assert!(cells.starts_with("row,after,domain,success,success_low,success_high,mean_reward\n"));
    assert_eq!(cells.lines().count(), 1 + 4 * 3);
    assert_eq!(read("ewc/matrix_success.csv").lines().nth(1).unwrap(), "1,airline,0.65,0.25,0.1");
    assert_eq!(read("naive/per_update.csv").lines().count(), 4);
    assert_eq!(read("naive/per_domain.csv").lines().count(), 4);
    // 4 rows × 3 domains × k = 1..4.
    assert_eq!(read("naive/pass_k.csv").lines().count(), 1 + 4 * 3 * 4);

    let comparison = read("comparison.csv");
    assert_eq!(comparison.lines().count(), 1 + 4);
    assert!(
        comparison
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("replay,\"replay(capacity=64, ratio=0.25); reward task_success\",false,3,3,true,")
    );
    let json: serde_json::Value = serde_json::from_str(&read("comparison.json")).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);
    assert_eq!(json[2]["fwt"]["unavailable"], "unavailable: no evaluation before training (row 0)");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["runs"].as_array().unwrap().len(), 3);
    assert_eq!(report["reference"]["name"], "joint");
    assert_eq!(report["bootstrap"]["replicates"], 200);
    let analysis: serde_json::Value = serde_json::from_str(&read("replay/analysis.json")).unwrap();
    assert_eq!(analysis["per_update"].as_array().unwrap().len(), 3);
}

#[test]
fn one_run_and_a_checkpoint_report_without_a_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = fixture("replay").join("checkpoint_task_0");
    let options = ReportOptions { joint: None, ..options(tmp.path()) };
    let output = write_report(&[checkpoint.clone(), checkpoint], &options).unwrap();
    let md = std::fs::read_to_string(&output.markdown).unwrap();
    // The same directory twice gets two distinct names.
    assert!(md.contains("## Run `replay@checkpoint_task_0`") && md.contains("## Run `replay@checkpoint_task_0-2`"));
    assert!(md.contains("checkpoint directory: `checkpoint_task_0`"));
    assert!(md.contains("unfinished, 1 of 3 domains trained"));
    assert!(tmp.path().join("data/replay_checkpoint_task_0-2/matrix_success.csv").is_file());
}

#[test]
fn bad_input_is_reported_not_panicked() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(write_report(&[], &options(tmp.path())).unwrap_err().to_string().contains("no run directory"));
    let err = write_report(&[tmp.path().join("missing")], &options(tmp.path())).unwrap_err();
    assert!(err.to_string().contains("missing"));
}

#[test]
fn default_output_directories() {
    let a = PathBuf::from("runs/naive");
    let b = PathBuf::from("runs/replay");
    assert_eq!(default_out_dir(std::slice::from_ref(&a)), PathBuf::from("runs/naive/report"));
    assert_eq!(default_out_dir(&[a, b]), PathBuf::from("runs/report-naive-vs-replay"));
}

#[test]
fn a_run_with_only_row_zero_or_nothing_evaluated_still_reports() {
    for keep in [1, 0] {
        let (tmp, dir) = crate::common::scratch_copy("naive");
        crate::common::edit_matrix(&dir, |m| m["rows"].as_array_mut().unwrap().truncate(keep));
        std::fs::write(dir.join("metrics.jsonl"), "").unwrap();
        let out = tmp.path().join("out");
        let output = write_report(&[dir], &ReportOptions { joint: None, ..options(&out) }).unwrap();
        let md = std::fs::read_to_string(&output.markdown).unwrap();
        assert!(md.contains("unfinished, 0 of 3 domains trained"), "{md}");
        assert!(output.summary[0].contains("ACC n/a"), "{}", output.summary[0]);
        assert_eq!(md.contains("| before training |"), keep == 1);
    }
}
