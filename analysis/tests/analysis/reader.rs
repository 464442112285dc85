//! The run-directory reader: fixtures load, and every broken file gives an error naming the file, line, row or key.

use retain_analysis::matrix::{AccuracyMatrix, MatrixFile};
use retain_analysis::metrics_log::{EventKind, MetricsLog};
use retain_analysis::{AnalysisError, Run};

use crate::common::{edit_matrix, fixture, scratch_copy};

#[test]
fn fixture_runs_load_with_their_config_and_log() {
    let run = Run::load(&fixture("naive")).unwrap();
    assert_eq!(run.name, "naive");
    assert_eq!(run.matrix.domains, ["airline", "retail", "telecom"]);
    assert!(run.matrix.before.is_some());
    assert_eq!(run.matrix.after.len(), 3);
    assert!(run.matrix.has_trials());
    assert!(run.finished());
    assert_eq!(run.info.seed, Some(1));
    assert_eq!(run.info.algorithm.as_deref(), Some("grpo"));
    assert_eq!(run.info.method_label(), "naive; reward task_success");
    assert_eq!(run.log.of_kind(EventKind::TrainStep).count(), 12);
    assert_eq!(run.log.of_kind(EventKind::DomainEnd).count(), 3);
    assert!(run.peak_rss_bytes().unwrap() > 0.0);
    assert!(run.warnings.is_empty());

    let replay = Run::load(&fixture("replay")).unwrap();
    assert_eq!(replay.checkpoints, ["checkpoint_task_0"]);
    assert_eq!(replay.info.method_label(), "replay(capacity=64, ratio=0.25); reward task_success");
    let ewc = Run::load(&fixture("ewc")).unwrap();
    assert_eq!(ewc.info.method_label(), "ewc(lambda=1000.0, online=true); reward task_success");
}

#[test]
fn a_checkpoint_directory_alone_is_reportable() {
    let run = Run::load(&fixture("replay").join("checkpoint_task_0")).unwrap();
    assert!(run.is_checkpoint);
    assert_eq!(run.name, "replay@checkpoint_task_0");
    assert_eq!(run.matrix.after.len(), 1);
    assert!(!run.finished());
}

#[test]
fn an_interrupted_last_line_is_a_warning_not_an_error() {
    let run = Run::load(&fixture("ewc")).unwrap();
    assert!(!run.finished());
    assert_eq!(run.warnings.len(), 1);
    assert!(run.warnings[0].contains("line 16"), "{}", run.warnings[0]);
    assert!(run.matrix.before.is_none());
    assert!(!run.matrix.has_trials());
}

#[test]
fn missing_files_are_named() {
    let (_tmp, dir) = scratch_copy("naive");
    std::fs::remove_file(dir.join("matrix.json")).unwrap();
    let err = Run::load(&dir).unwrap_err();
    assert!(matches!(err, AnalysisError::MissingFile { ref path, .. } if path.ends_with("matrix.json")));
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let message = Run::load(&dir).unwrap_err().to_string();
    assert!(message.contains("config.json") && message.contains("run directory"), "{message}");
    let missing = Run::load(&dir.join("nope")).unwrap_err().to_string();
    assert!(missing.contains("nope"), "{missing}");
}

#[test]
fn a_malformed_line_in_the_middle_is_an_error_with_its_number() {
    let (_tmp, dir) = scratch_copy("naive");
    let path = dir.join("metrics.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
    lines[2] = "{\"event\": \"train_step\", oops".to_owned();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = Run::load(&dir).unwrap_err();
    assert!(matches!(err, AnalysisError::Malformed { line: Some(3), .. }), "{err}");
    assert!(err.to_string().contains("metrics.jsonl line 3"), "{err}");
}

#[test]
fn metric_lines_break_rules_with_clear_messages() {
    let path = std::path::Path::new("metrics.jsonl");
    let cases = [
        (r#"{"event": "train", "global_step": 1, "wall_time_s": 0}"#, "unknown event"),
        (r#"{"event": "eval", "wall_time_s": 0}"#, "global_step"),
        (r#"{"event": "eval", "global_step": 1}"#, "wall_time_s"),
        (r#"{"event": "train_step", "global_step": 1, "wall_time_s": 0, "step": 1}"#, "domain_index"),
        (r#"{"event": "eval", "global_step": -1, "wall_time_s": 0}"#, "non-negative"),
        (r#"{"event": "eval", "global_step": 1, "wall_time_s": 0, "x": [1]}"#, "nested"),
        (r#"{"event": "run_start", "global_step": 0, "wall_time_s": 0, "format_version": 2}"#, "format_version"),
        (r#"[1, 2]"#, "JSON object"),
    ];
    for (line, expected) in cases {
        let text = format!("{line}\n");
        let err = MetricsLog::parse(&text, path).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains(expected), "{line}: {err}");
    }
}

#[test]
fn metric_lines_must_agree_with_the_task_order() {
    let (_tmp, dir) = scratch_copy("naive");
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).unwrap().replacen("\"domain\": \"airline\"", "\"domain\": \"retail\"", 1);
    std::fs::write(&path, text).unwrap();
    let err = Run::load(&dir).unwrap_err().to_string();
    assert!(err.contains("domain_index 0") && err.contains("line 3"), "{err}");

    let (_tmp, dir) = scratch_copy("naive");
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).unwrap().replacen("eval/retail/success", "eval/mall/success", 1);
    std::fs::write(&path, text).unwrap();
    let err = Run::load(&dir).unwrap_err().to_string();
    assert!(err.contains("eval/mall/success"), "{err}");
}

fn matrix_error(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let (_tmp, dir) = scratch_copy("naive");
    edit_matrix(&dir, edit);
    Run::load(&dir).unwrap_err().to_string()
}

#[test]
fn matrix_rules_are_enforced_with_row_domain_and_task() {
    let err = matrix_error(|m| m["rows"][2]["cells"]["retail"]["success"] = 0.9.into());
    assert!(err.contains("row 2") && err.contains("retail") && err.contains("disagrees"), "{err}");

    let err = matrix_error(|m| m["rows"][1]["cells"]["airline"]["per_task"]["airline_3"][1] = 2.into());
    assert!(err.contains("airline_3") && err.contains("0 or 1"), "{err}");

    let err = matrix_error(|m| {
        m["rows"][1]["cells"]["airline"]["per_task"]["airline_3"].as_array_mut().unwrap().pop();
    });
    assert!(err.contains("airline_3") && err.contains("trials"), "{err}");

    let err = matrix_error(|m| {
        m["rows"][3]["cells"].as_object_mut().unwrap().remove("telecom");
    });
    assert!(err.contains("row 3") && err.contains("telecom"), "{err}");

    let err = matrix_error(|m| m["rows"][2]["after"] = "telecom".into());
    assert!(err.contains("row 2") && err.contains("task order"), "{err}");

    let err = matrix_error(|m| {
        m["rows"].as_array_mut().unwrap().remove(1);
    });
    assert!(err.contains("index 2") && err.contains("1 was expected"), "{err}");

    let err = matrix_error(|m| m["format_version"] = 7.into());
    assert!(err.contains("format_version 7"), "{err}");

    let err = matrix_error(|m| m["rows"][0]["cells"]["airline"]["sucess"] = 0.1.into());
    assert!(err.contains("sucess") && err.contains("rows[0]"), "{err}");

    let err = matrix_error(|m| m["domains"] = serde_json::json!(["airline", "retail", "mall"]));
    assert!(err.contains("mall"), "{err}");
}

#[test]
fn task_order_of_the_config_must_match_the_matrix() {
    let (_tmp, dir) = scratch_copy("naive");
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).unwrap().replace("\"telecom\"", "\"mall\"");
    std::fs::write(&path, text).unwrap();
    let err = Run::load(&dir).unwrap_err().to_string();
    assert!(err.contains("task_order"), "{err}");

    let (_tmp, dir) = scratch_copy("naive");
    std::fs::write(dir.join("config.json"), r#"{"run": {"seed": "one"}}"#).unwrap();
    let err = Run::load(&dir).unwrap_err().to_string();
    assert!(err.contains("run.seed"), "{err}");
}

#[test]
fn the_matrix_types_round_trip() {
    let text = std::fs::read_to_string(fixture("replay").join("matrix.json")).unwrap();
    let file: MatrixFile = serde_json::from_str(&text).unwrap();
    let again: MatrixFile = serde_json::from_str(&serde_json::to_string(&file).unwrap()).unwrap();
    assert_eq!(file, again);
    let matrix = AccuracyMatrix::from_file(again).unwrap();
    assert_eq!(matrix.success().after[0][0], 0.7);
}
