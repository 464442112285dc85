//! Every field survives the trip through the file, in every access path, with and without dictionary.

use std::collections::BTreeMap;

use retain_buffers::{BufferError, BufferReader, BufferWriter, Record, TerminationReason, WriterConfig};
use serde_json::json;

use super::common::{read_all, records, small_blocks, write, write_unfinished};

/// A record with every field set, including awkward values.
fn full_record(i: u64) -> Record {
    Record {
        domain: "telecom".into(),
        task_id: format!("[mobile_data_issue]airplane_mode_on|{i}"),
        step: 1_000_000 + i,
        sample_index: 3,
        messages: vec![
            json!({"role": "system", "content": "Policy… ünïcödé \"quoted\" \\ \n\t"}),
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "name": "toggle_airplane_mode", "arguments": {"on": false, "n": -3, "x": 0.1}}
            ]}),
            json!({"role": "tool", "id": "call_1", "content": "{\"status\": \"ok\"}", "error": false, "requestor": "assistant"}),
            json!({"z_last_key_first": 1, "a": [], "m": {}, "big": u64::MAX, "neg": i64::MIN, "f": 1e-300}),
        ],
        token_ids: Some(vec![0, 1, u32::MAX - 1, 4095]),
        loss_mask: Some(vec![false, true, true, false]),
        logprobs: Some(vec![0.0, -0.125, -1e-30, f32::MIN]),
        reward: -0.75,
        reward_components: BTreeMap::from([("task_success".into(), 0.0), ("failure_taxonomy".into(), -0.75)]),
        success: false,
        termination: TerminationReason::Other("custom_reason".into()),
        failure_modes: vec!["policy_violation".into(), "hallucinated_entity".into()],
        checkpoint_id: Some("checkpoint_task_1_step_20".into()),
        timestamp_unix_ms: u64::MAX,
    }
}

fn minimal_record() -> Record {
    Record {
        domain: String::new(),
        task_id: String::new(),
        step: 0,
        sample_index: 0,
        messages: Vec::new(),
        token_ids: None,
        loss_mask: None,
        logprobs: None,
        reward: 0.0,
        reward_components: BTreeMap::new(),
        success: true,
        termination: TerminationReason::AgentStop,
        failure_modes: Vec::new(),
        checkpoint_id: None,
        timestamp_unix_ms: 0,
    }
}

#[test]
fn every_field_round_trips_through_get_iter_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![full_record(0), minimal_record()];
    all.extend(records(60, 1, true));
    all.push(full_record(1));
    for dictionary in [false, true] {
        let path = dir.path().join(format!("rt-{dictionary}.rtb"));
        write(&path, &all, small_blocks(dictionary));
        let mut reader = BufferReader::open(&path).unwrap();
        assert!(reader.opened_from_index());
        assert_eq!(reader.recovery(), None);
        assert_eq!(reader.len(), all.len() as u64);
        assert!(reader.blocks().len() > 5, "small blocks give many blocks");
        assert_eq!(read_all(&mut reader), all);
        for id in [0, 1, 17, all.len() as u64 - 1] {
            let stored = reader.get(id).unwrap();
            assert_eq!((stored.id, &stored.record), (id, &all[id as usize]));
        }
        assert!(matches!(reader.get(all.len() as u64), Err(BufferError::NoSuchRecord { .. })));
        // The JSON shape (export) round-trips every field too.
        let mut out = Vec::new();
        retain_buffers::export_jsonl(&mut reader, &Default::default(), &mut out).unwrap();
        let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
        assert_eq!(lines.len(), all.len());
        for (i, line) in lines.iter().enumerate() {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["id"], json!(i));
            value.as_object_mut().unwrap().shift_remove("id");
            let record: Record = serde_json::from_value(value).unwrap();
            assert_eq!(record, all[i]);
        }
    }
}

#[test]
fn termination_reasons_use_tau2_names() {
    let names = [
        (TerminationReason::AgentStop, "agent_stop"),
        (TerminationReason::UserStop, "user_stop"),
        (TerminationReason::MaxSteps, "max_steps"),
        (TerminationReason::TooManyErrors, "too_many_errors"),
        (TerminationReason::AgentError, "agent_error"),
        (TerminationReason::UserError, "user_error"),
        (TerminationReason::Timeout, "timeout"),
        (TerminationReason::Other("x".into()), "x"),
    ];
    for (reason, name) in names {
        assert_eq!(reason.as_str(), name);
        assert_eq!(serde_json::to_value(&reason).unwrap(), json!(name));
        assert_eq!(serde_json::from_value::<TerminationReason>(json!(name)).unwrap(), reason);
    }
}

#[test]
fn unfinished_file_is_rebuilt_by_scanning_and_append_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("append.rtb");
    let all = records(90, 2, false);
    write_unfinished(&path, &all[..40], small_blocks(true));
    let mut reader = BufferReader::open(&path).unwrap();
    assert!(!reader.opened_from_index());
    assert_eq!(reader.recovery(), None);
    assert_eq!(read_all(&mut reader), all[..40]);
    drop(reader);

    let (mut writer, recovery) = BufferWriter::open_append(&path, small_blocks(true)).unwrap();
    assert_eq!(recovery, None);
    for (i, record) in all[40..70].iter().enumerate() {
        assert_eq!(writer.append(record).unwrap(), 40 + i as u64);
    }
    writer.finish().unwrap();
    let (mut writer, _) = BufferWriter::open_or_create(&path, small_blocks(false)).unwrap();
    for record in &all[70..] {
        writer.append(record).unwrap();
    }
    writer.finish().unwrap();
    let mut reader = BufferReader::open(&path).unwrap();
    assert!(reader.opened_from_index());
    assert_eq!(read_all(&mut reader), all);
    assert_eq!(reader.verify().unwrap(), 90);
}

#[test]
fn flush_makes_records_visible_to_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flush.rtb");
    let all = records(5, 3, false);
    let mut writer = BufferWriter::create(&path, WriterConfig::default()).unwrap();
    writer.append(&all[0]).unwrap();
    writer.append(&all[1]).unwrap();
    assert_eq!(BufferReader::open(&path).unwrap().len(), 0, "pending records are not in the file yet");
    writer.flush().unwrap();
    assert_eq!(read_all(&mut BufferReader::open(&path).unwrap()), all[..2]);
    for record in &all[2..] {
        writer.append(record).unwrap();
    }
    writer.sync().unwrap();
    assert_eq!(read_all(&mut BufferReader::open(&path).unwrap()), all);
    assert_eq!(writer.finish().unwrap().records, 5);
}

#[test]
fn invalid_records_and_configs_are_rejected_with_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invalid.rtb");
    let mut writer = BufferWriter::create(&path, small_blocks(false)).unwrap();
    let mut record = minimal_record();
    record.task_id = "task-7".into();
    record.reward = f64::NAN;
    let error = writer.append(&record).unwrap_err().to_string();
    assert!(error.contains("task-7") && error.contains("NaN"), "{error}");
    record.reward = 1.0;
    record.messages = vec![json!("x".repeat(2 << 20))];
    assert!(matches!(writer.append(&record), Err(BufferError::RecordTooLarge { .. })));
    record.messages = Vec::new();
    assert_eq!(writer.append(&record).unwrap(), 0, "a rejected record takes no id");
    writer.finish().unwrap();
    assert!(matches!(BufferWriter::create(&path, small_blocks(false)), Err(BufferError::AlreadyExists(_))));
    let bad = WriterConfig { block_bytes: 0, ..WriterConfig::default() };
    assert!(matches!(BufferWriter::create(dir.path().join("x"), bad), Err(BufferError::InvalidConfig(_))));
}

#[test]
fn non_buffers_and_future_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.json");
    std::fs::write(&path, "{\"trajectories\": []}\n-----------------").unwrap();
    let error = BufferReader::open(&path).err().unwrap();
    assert!(matches!(error, BufferError::NotABuffer { .. }), "{error}");
    let path = dir.path().join("v2.rtb");
    write(&path, &records(3, 4, false), small_blocks(false));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8] = 2;
    std::fs::write(&path, bytes).unwrap();
    let error = BufferReader::open(&path).err().unwrap();
    assert!(matches!(error, BufferError::UnsupportedVersion { found: 2, .. }), "{error}");
}
