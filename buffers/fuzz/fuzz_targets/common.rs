//! What both targets do with a buffer that opened: use every read path; only a panic, a hang or an unbounded
//! allocation is a finding (errors are the expected outcome on damaged input).

use std::io::Cursor;

use retain_buffers::{BufferReader, RecordFilter, SampleStrategy, sample, statistics};

pub fn exercise(bytes: &[u8]) {
    let Ok(mut reader) = BufferReader::from_source(Cursor::new(bytes), "fuzz input") else { return };
    let mut count = 0u64;
    for record in reader.iter() {
        match record {
            Ok(_) => count += 1,
            Err(_) => break,
        }
    }
    assert!(count <= reader.len());
    let _ = reader.get(reader.len().saturating_sub(1));
    let _ = statistics(&mut reader, &RecordFilter::default());
    for (_, strategy) in SampleStrategy::ALL {
        let _ = sample(&mut reader, 3, strategy, &RecordFilter::default().reward_range(Some(0.0), None), 1);
    }
}
