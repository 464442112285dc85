//! Crash recovery: a torn tail is dropped and reported, the records before it survive; a corrupt block before the
//! end is an error naming its offset, never skipped.

use retain_buffers::{BufferError, BufferReader, BufferWriter};

use super::common::{open_bytes, read_all, records, small_blocks, write, write_unfinished};

#[test]
fn truncation_at_every_byte_of_the_last_block_keeps_all_earlier_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torn.rtb");
    let all = records(40, 11, false);
    write_unfinished(&path, &all, small_blocks(true));
    let bytes = std::fs::read(&path).unwrap();
    let reader = BufferReader::open(&path).unwrap();
    let last = *reader.blocks().last().unwrap();
    let kept = last.header.first_id as usize;
    assert!(kept > 0 && reader.blocks().len() > 3);
    drop(reader);
    for cut in last.offset..bytes.len() as u64 {
        let mut reader = open_bytes(&bytes[..cut as usize]).unwrap();
        assert_eq!(reader.len(), kept as u64, "cut at {cut}");
        if cut == last.offset {
            assert_eq!(reader.recovery(), None, "a file ending on a block boundary is whole");
        } else {
            let recovery = reader.recovery().unwrap_or_else(|| panic!("no recovery reported at cut {cut}"));
            assert_eq!((recovery.offset, recovery.dropped_bytes), (last.offset, cut - last.offset));
            assert_eq!(recovery.records_kept, kept as u64);
        }
        assert_eq!(read_all(&mut reader), all[..kept], "cut at {cut}");
    }
}

#[test]
fn truncation_inside_the_index_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.rtb");
    let all = records(30, 12, false);
    write_unfinished(&path, &all, small_blocks(false));
    let data_len = std::fs::metadata(&path).unwrap().len() as usize;
    let (writer, _) = BufferWriter::open_append(&path, small_blocks(false)).unwrap();
    writer.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(open_bytes(&bytes).unwrap().opened_from_index());
    for cut in data_len..bytes.len() {
        let mut reader = open_bytes(&bytes[..cut]).unwrap();
        assert!(!reader.opened_from_index());
        assert_eq!(reader.recovery().is_some(), cut > data_len, "cut at {cut}");
        assert_eq!(read_all(&mut reader), all, "cut at {cut}");
    }
}

#[test]
fn open_append_cuts_the_torn_tail_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("append-torn.rtb");
    let all = records(50, 13, false);
    write_unfinished(&path, &all[..30], small_blocks(true));
    let reader = BufferReader::open(&path).unwrap();
    let last = *reader.blocks().last().unwrap();
    drop(reader);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(last.offset + 50).unwrap();
    drop(file);
    let (mut writer, recovery) = BufferWriter::open_append(&path, small_blocks(true)).unwrap();
    let recovery = recovery.unwrap();
    assert_eq!((recovery.offset, recovery.dropped_bytes), (last.offset, 50));
    let kept = last.header.first_id as usize;
    for (i, record) in all[30..].iter().enumerate() {
        assert_eq!(writer.append(record).unwrap(), (kept + i) as u64);
    }
    writer.finish().unwrap();
    let mut reader = BufferReader::open(&path).unwrap();
    assert_eq!(reader.recovery(), None);
    let mut expected = all[..kept].to_vec();
    expected.extend_from_slice(&all[30..]);
    assert_eq!(read_all(&mut reader), expected);
}

#[test]
fn zero_filled_tail_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zeros.rtb");
    let all = records(20, 14, false);
    write_unfinished(&path, &all, small_blocks(false));
    let mut bytes = std::fs::read(&path).unwrap();
    let end = bytes.len() as u64;
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    let mut reader = open_bytes(&bytes).unwrap();
    assert_eq!(reader.recovery().unwrap().offset, end);
    assert_eq!(read_all(&mut reader), all);
}

/// Flips one byte at `at`.
fn flipped(bytes: &[u8], at: u64) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[at as usize] ^= 0x55;
    bytes
}

#[test]
fn a_corrupt_block_in_the_middle_is_reported_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let finished = dir.path().join("finished.rtb");
    let unfinished = dir.path().join("unfinished.rtb");
    let all = records(40, 15, false);
    write(&finished, &all, small_blocks(true));
    write_unfinished(&unfinished, &all, small_blocks(true));
    for path in [&finished, &unfinished] {
        let bytes = std::fs::read(path).unwrap();
        let reader = open_bytes(&bytes).unwrap();
        let blocks = reader.blocks().to_vec();
        drop(reader);
        let middle = blocks[blocks.len() / 2];
        // Damage in the payload: opening may succeed (payloads are checked when read), reading must fail there.
        let damaged = flipped(&bytes, middle.offset + 68 + u64::from(middle.header.stored_len) / 2);
        let mut reader = open_bytes(&damaged).unwrap();
        let error = reader.iter().find_map(Result::err).expect("corruption must surface");
        assert!(matches!(error, BufferError::CorruptBlock { offset, .. } if offset == middle.offset), "{error}");
        assert!(error.to_string().contains(&middle.offset.to_string()));
        let error = reader.get(middle.header.first_id).unwrap_err();
        assert!(matches!(error, BufferError::CorruptBlock { offset, .. } if offset == middle.offset), "{error}");
        assert!(reader.verify().is_err());
        // Damage in the header: with an index the read fails; when scanning, the open fails.
        let damaged = flipped(&bytes, middle.offset + 10);
        match open_bytes(&damaged) {
            Ok(mut reader) => {
                assert!(reader.opened_from_index(), "only the indexed file may open");
                let error = reader.verify().unwrap_err();
                assert!(matches!(error, BufferError::CorruptBlock { offset, .. } if offset == middle.offset));
            }
            Err(error) => {
                assert!(
                    matches!(error, BufferError::CorruptBlock { offset, .. } if offset == middle.offset),
                    "{error}"
                );
                assert!(error.to_string().contains("not a torn tail"));
            }
        }
    }
}

#[test]
fn a_damaged_dictionary_is_an_error_not_a_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dict.rtb");
    write_unfinished(&path, &records(40, 16, false), small_blocks(true));
    let bytes = std::fs::read(&path).unwrap();
    // The dictionary is the first block, right after the 32-byte file header.
    let damaged = flipped(&bytes, 32 + 68 + 100);
    let error = open_bytes(&damaged).err().expect("damaged dictionary must be reported");
    assert!(matches!(error, BufferError::CorruptBlock { offset: 32, .. }), "{error}");
}
