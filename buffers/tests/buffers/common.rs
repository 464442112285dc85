//! Shared helpers: deterministic records and small-block writer configs so tests exercise many blocks quickly.

use std::io::Cursor;
use std::path::Path;

use retain_buffers::synthetic::{SyntheticOptions, SyntheticTrajectories};
use retain_buffers::{BufferReader, BufferWriter, DictionaryConfig, Record, WriterConfig};

/// `n` synthetic records from `seed`.
pub fn records(n: usize, seed: u64, with_tokens: bool) -> Vec<Record> {
    SyntheticTrajectories::new(seed, SyntheticOptions { with_tokens }).take(n).collect()
}

/// Small blocks (≈ 4 records each) and a small dictionary trained early.
pub fn small_blocks(dictionary: bool) -> WriterConfig {
    WriterConfig {
        compression_level: 1,
        block_bytes: 16 << 10,
        max_block_bytes: 1 << 20,
        dictionary: dictionary.then_some(DictionaryConfig { training_bytes: 64 << 10, max_size: 8 << 10 }),
    }
}

/// Writes `records` to `path` and finishes the file.
pub fn write(path: &Path, records: &[Record], config: WriterConfig) {
    let mut writer = BufferWriter::create(path, config).unwrap();
    for (i, record) in records.iter().enumerate() {
        assert_eq!(writer.append(record).unwrap(), i as u64);
    }
    writer.finish().unwrap();
}

/// Writes `records` to `path`, syncs, and drops the writer without `finish` (as a crash after a sync would).
pub fn write_unfinished(path: &Path, records: &[Record], config: WriterConfig) {
    let mut writer = BufferWriter::create(path, config).unwrap();
    for record in records {
        writer.append(record).unwrap();
    }
    writer.sync().unwrap();
    drop(writer);
}

/// Opens in-memory bytes as a buffer.
pub fn open_bytes(bytes: &[u8]) -> retain_buffers::Result<BufferReader<Cursor<Vec<u8>>>> {
    BufferReader::from_source(Cursor::new(bytes.to_vec()), "memory")
}

/// All records of a reader, panicking on error.
pub fn read_all<R: std::io::Read + std::io::Seek>(reader: &mut BufferReader<R>) -> Vec<Record> {
    reader.iter().map(|r| r.unwrap().record).collect()
}
