//! Streaming, append-only writer: records are encoded into a pending block, compressed and appended once the block
//! is full; `flush`/`sync` make everything appended so far durable; `finish` writes the index and footer.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codec::encode_record;
use crate::error::{BufferError, Result};
use crate::format::{
    BlockEntry, BlockHeader, BlockKind, Codec, HARD_MAX_BLOCK_BYTES, HARD_MAX_DICTIONARY_BYTES, encode_file_header,
    encode_footer, encode_index,
};
use crate::reader::{BufferReader, Recovery};
use crate::record::{Record, RecordId};

/// How a writer compresses and cuts blocks. The defaults suit trajectory buffers (chosen with `retain bench buffer`
/// on τ²-style records): zstd level 1 (level 3 and 5 compressed these records no smaller, and slower), 128 KiB
/// blocks (a random `get` decodes one block: thousands per second), and a 64 KiB dictionary trained on the first
/// 1 MiB of records (≈10% smaller files than without, at some write speed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WriterConfig {
    /// zstd compression level (1–22; negative levels are zstd's fast modes).
    pub compression_level: i32,
    /// Target uncompressed size of a block: a block is cut once its records reach this size. Smaller blocks make
    /// `get` by id cheaper, larger ones compress better.
    pub block_bytes: usize,
    /// Largest uncompressed block, i.e. largest single record, accepted (at most 64 MiB, the reader's hard bound).
    pub max_block_bytes: usize,
    /// Train a zstd dictionary on the first records (helps small blocks); `None` disables it.
    pub dictionary: Option<DictionaryConfig>,
}

/// Dictionary training parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DictionaryConfig {
    /// Records are held back until this many bytes are pending, then the dictionary is trained on them.
    pub training_bytes: usize,
    /// Largest dictionary size (at most 1 MiB).
    pub max_size: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            compression_level: 1,
            block_bytes: 128 << 10,
            max_block_bytes: 16 << 20,
            dictionary: Some(DictionaryConfig::default()),
        }
    }
}

impl Default for DictionaryConfig {
    fn default() -> Self {
        Self { training_bytes: 1 << 20, max_size: 64 << 10 }
    }
}

impl WriterConfig {
    /// Checks ranges so a bad config fails at open time with a clear message.
    pub fn validate(&self) -> Result<()> {
        let levels = zstd::compression_level_range();
        if !levels.contains(&self.compression_level) {
            return Err(BufferError::InvalidConfig(format!(
                "compression_level {} is outside zstd's range {}..={}",
                self.compression_level,
                levels.start(),
                levels.end()
            )));
        }
        if self.max_block_bytes == 0 || self.max_block_bytes > HARD_MAX_BLOCK_BYTES as usize {
            return Err(BufferError::InvalidConfig(format!(
                "max_block_bytes {} must be between 1 and {HARD_MAX_BLOCK_BYTES}",
                self.max_block_bytes
            )));
        }
        if self.block_bytes == 0 || self.block_bytes > self.max_block_bytes {
            return Err(BufferError::InvalidConfig(format!(
                "block_bytes {} must be between 1 and max_block_bytes ({})",
                self.block_bytes, self.max_block_bytes
            )));
        }
        if let Some(dictionary) = &self.dictionary {
            if dictionary.max_size < 256 || dictionary.max_size > HARD_MAX_DICTIONARY_BYTES as usize {
                return Err(BufferError::InvalidConfig(format!(
                    "dictionary.max_size {} must be between 256 and {HARD_MAX_DICTIONARY_BYTES}",
                    dictionary.max_size
                )));
            }
            if dictionary.training_bytes > self.max_block_bytes.saturating_mul(64) {
                return Err(BufferError::InvalidConfig(format!(
                    "dictionary.training_bytes {} is larger than 64 blocks; records are held in memory until training",
                    dictionary.training_bytes
                )));
            }
        }
        Ok(())
    }
}

/// Where dictionary training stands.
enum DictionaryState {
    /// No dictionary for this file (disabled, failed to train, or blocks already written without one).
    Off,
    /// Holding records back until enough bytes are pending to train.
    Training(DictionaryConfig),
    /// The file has a dictionary; blocks are compressed with it.
    Active,
}

/// Size and summary of a pending record, to cut blocks at record boundaries.
#[derive(Clone, Copy)]
struct PendingRecord {
    len: usize,
    step: u64,
    reward: f64,
}

/// What a writer did, returned by [`BufferWriter::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSummary {
    /// Records in the file.
    pub records: u64,
    /// Record blocks in the file.
    pub blocks: u64,
    /// Final file size in bytes.
    pub file_bytes: u64,
}

/// Appends records to a buffer file. Not shared between threads; one writer per file.
pub struct BufferWriter {
    path: PathBuf,
    name: String,
    out: BufWriter<File>,
    position: u64,
    config: WriterConfig,
    compressor: zstd::bulk::Compressor<'static>,
    codec: Codec,
    dictionary: DictionaryState,
    dictionary_offset: Option<u64>,
    entries: Vec<BlockEntry>,
    next_id: RecordId,
    pending: Vec<u8>,
    pending_records: Vec<PendingRecord>,
    compressed: Vec<u8>,
    finished: bool,
}

impl BufferWriter {
    /// Creates a new buffer file; fails if the file exists so nothing is overwritten by accident.
    pub fn create(path: impl AsRef<Path>, config: WriterConfig) -> Result<Self> {
        config.validate()?;
        let path = path.as_ref().to_path_buf();
        let name = path.display().to_string();
        let mut file = OpenOptions::new().write(true).create_new(true).open(&path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                BufferError::AlreadyExists(path.clone())
            } else {
                BufferError::io(&name, error)
            }
        })?;
        let header = encode_file_header();
        file.write_all(&header).and_then(|()| file.sync_all()).map_err(|e| BufferError::io(&name, e))?;
        let dictionary = match &config.dictionary {
            Some(dictionary) => DictionaryState::Training(dictionary.clone()),
            None => DictionaryState::Off,
        };
        Self::assemble(path, file, header.len() as u64, config, Vec::new(), 0, None, dictionary)
    }

    /// Opens an existing buffer for appending. A torn tail left by a crash is cut off (and reported in the returned
    /// [`Recovery`]); the index written by the last `finish` is removed and rewritten on the next `finish`. A corrupt
    /// block before the tail is an error: the file is left untouched.
    pub fn open_append(path: impl AsRef<Path>, config: WriterConfig) -> Result<(Self, Option<Recovery>)> {
        config.validate()?;
        let path = path.as_ref().to_path_buf();
        let name = path.display().to_string();
        let reader = BufferReader::open(&path)?;
        let recovery = reader.recovery().cloned();
        let data_end = reader.data_end();
        let entries = reader.blocks().to_vec();
        let next_id = reader.len();
        let dictionary_offset = reader.dictionary_offset();
        let dictionary_bytes = reader.dictionary_bytes().map(<[u8]>::to_vec);
        drop(reader);
        let file = OpenOptions::new().write(true).open(&path).map_err(|e| BufferError::io(&name, e))?;
        file.set_len(data_end).and_then(|()| file.sync_all()).map_err(|e| BufferError::io(&name, e))?;
        let mut writer = match dictionary_bytes {
            Some(bytes) => {
                let mut writer = Self::assemble(
                    path,
                    file,
                    data_end,
                    config,
                    entries,
                    next_id,
                    dictionary_offset,
                    DictionaryState::Active,
                )?;
                writer.compressor = zstd::bulk::Compressor::with_dictionary(writer.config.compression_level, &bytes)
                    .map_err(|e| BufferError::corrupt(&writer.name, dictionary_offset.unwrap_or(0), e.to_string()))?;
                writer.codec = Codec::ZstdDictionary;
                writer
            }
            None => {
                let dictionary = match &config.dictionary {
                    Some(dictionary) => DictionaryState::Training(dictionary.clone()),
                    None => DictionaryState::Off,
                };
                Self::assemble(path, file, data_end, config, entries, next_id, None, dictionary)?
            }
        };
        writer.out.seek(SeekFrom::Start(data_end)).map_err(|e| BufferError::io(&writer.name, e))?;
        Ok((writer, recovery))
    }

    /// Opens `path` for appending if it exists, creates it otherwise.
    pub fn open_or_create(path: impl AsRef<Path>, config: WriterConfig) -> Result<(Self, Option<Recovery>)> {
        if path.as_ref().exists() { Self::open_append(path, config) } else { Ok((Self::create(path, config)?, None)) }
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        path: PathBuf,
        file: File,
        position: u64,
        config: WriterConfig,
        entries: Vec<BlockEntry>,
        next_id: RecordId,
        dictionary_offset: Option<u64>,
        dictionary: DictionaryState,
    ) -> Result<Self> {
        let name = path.display().to_string();
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.seek(SeekFrom::Start(position)).map_err(|e| BufferError::io(&name, e))?;
        let compressor =
            zstd::bulk::Compressor::new(config.compression_level).map_err(|e| BufferError::io(&name, e))?;
        Ok(Self {
            path,
            name,
            out,
            position,
            config,
            compressor,
            codec: Codec::Zstd,
            dictionary,
            dictionary_offset,
            entries,
            next_id,
            pending: Vec::new(),
            pending_records: Vec::new(),
            compressed: Vec::new(),
            finished: false,
        })
    }

    /// Path of the file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of records appended so far (including ones still pending in memory).
    pub fn len(&self) -> u64 {
        self.next_id
    }

    /// Whether no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.next_id == 0
    }

    /// Appends one record and returns its id. The record reaches the file when its block is full or on
    /// [`flush`](Self::flush); it is durable after [`sync`](Self::sync).
    pub fn append(&mut self, record: &Record) -> Result<RecordId> {
        validate_record(record)?;
        let start = self.pending.len();
        if let Err(reason) = encode_record(record, &mut self.pending) {
            self.pending.truncate(start);
            return Err(BufferError::InvalidRecord { task_id: record.task_id.clone(), reason });
        }
        let len = self.pending.len() - start;
        if len > self.config.max_block_bytes {
            self.pending.truncate(start);
            return Err(BufferError::RecordTooLarge {
                size: len,
                task_id: record.task_id.clone(),
                max: self.config.max_block_bytes,
            });
        }
        self.pending_records.push(PendingRecord { len, step: record.step, reward: record.reward });
        let id = self.next_id;
        self.next_id += 1;
        match &self.dictionary {
            DictionaryState::Training(dictionary) => {
                if self.pending.len() >= dictionary.training_bytes {
                    self.train_dictionary()?;
                    self.write_blocks(false)?;
                }
            }
            DictionaryState::Off | DictionaryState::Active => {
                if self.pending.len() >= self.config.block_bytes {
                    self.write_blocks(false)?;
                }
            }
        }
        Ok(id)
    }

    /// Writes every pending record to the file (as a possibly short block) and flushes the OS buffer, so a reader
    /// opened afterwards sees all appended records. Not a durability guarantee; see [`sync`](Self::sync).
    pub fn flush(&mut self) -> Result<()> {
        if matches!(self.dictionary, DictionaryState::Training(_)) && !self.pending_records.is_empty() {
            self.train_dictionary()?;
        }
        self.write_blocks(true)?;
        self.out.flush().map_err(|e| BufferError::io(&self.name, e))
    }

    /// [`flush`](Self::flush) and then `fsync`: after it returns, a crash loses none of the records appended.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        self.out.get_ref().sync_data().map_err(|e| BufferError::io(&self.name, e))
    }

    /// Flushes, writes the index block and the footer, and syncs. Opening a finished file needs no scan.
    pub fn finish(mut self) -> Result<WriteSummary> {
        self.flush()?;
        let index = encode_index(self.dictionary_offset, &self.entries);
        let header = BlockHeader::plain(BlockKind::Index, Codec::Raw, &index, index.len() as u32);
        if index.len() > HARD_MAX_BLOCK_BYTES as usize {
            // Too many blocks for one index block: readers rebuild the index by scanning instead.
            self.finished = true;
            self.out.get_ref().sync_all().map_err(|e| BufferError::io(&self.name, e))?;
            return Ok(self.summary());
        }
        let index_offset = self.position;
        self.write_raw_block(&header, &index)?;
        let footer = encode_footer(index_offset);
        self.out.write_all(&footer).map_err(|e| BufferError::io(&self.name, e))?;
        self.position += footer.len() as u64;
        self.out.flush().map_err(|e| BufferError::io(&self.name, e))?;
        self.out.get_ref().sync_all().map_err(|e| BufferError::io(&self.name, e))?;
        self.finished = true;
        Ok(self.summary())
    }

    fn summary(&self) -> WriteSummary {
        WriteSummary { records: self.next_id, blocks: self.entries.len() as u64, file_bytes: self.position }
    }

    /// Trains the dictionary on the pending records and writes it; falls back to plain zstd if zstd cannot train
    /// (too few or too uniform samples).
    fn train_dictionary(&mut self) -> Result<()> {
        let DictionaryState::Training(config) = &self.dictionary else {
            return Ok(());
        };
        let sizes: Vec<usize> = self.pending_records.iter().map(|r| r.len).collect();
        let trained = if sizes.len() >= 8 {
            zstd::dict::from_continuous(&self.pending, &sizes, config.max_size).ok()
        } else {
            None
        };
        let Some(dictionary) = trained.filter(|d| !d.is_empty()) else {
            self.dictionary = DictionaryState::Off;
            return Ok(());
        };
        self.compressor = zstd::bulk::Compressor::with_dictionary(self.config.compression_level, &dictionary)
            .map_err(|e| BufferError::io(&self.name, e))?;
        self.codec = Codec::ZstdDictionary;
        let header = BlockHeader::plain(BlockKind::Dictionary, Codec::Raw, &dictionary, dictionary.len() as u32);
        self.dictionary_offset = Some(self.position);
        self.write_raw_block(&header, &dictionary)?;
        self.dictionary = DictionaryState::Active;
        Ok(())
    }

    /// Cuts pending records into blocks of about `block_bytes`; the remainder stays pending unless `all`.
    fn write_blocks(&mut self, all: bool) -> Result<()> {
        let mut consumed_bytes = 0;
        let mut consumed_records = 0;
        while consumed_records < self.pending_records.len() {
            let mut end_records = consumed_records;
            let mut block_len = 0;
            while end_records < self.pending_records.len() && block_len < self.config.block_bytes {
                let next = self.pending_records[end_records].len;
                if block_len > 0 && block_len + next > self.config.max_block_bytes {
                    break;
                }
                block_len += next;
                end_records += 1;
            }
            if block_len < self.config.block_bytes && !all && end_records == self.pending_records.len() {
                break;
            }
            self.write_record_block(consumed_bytes, block_len, consumed_records, end_records)?;
            consumed_bytes += block_len;
            consumed_records = end_records;
        }
        self.pending.drain(..consumed_bytes);
        self.pending_records.drain(..consumed_records);
        Ok(())
    }

    fn write_record_block(&mut self, start: usize, len: usize, first: usize, end: usize) -> Result<()> {
        let records = &self.pending_records[first..end];
        let first_id = self.next_id - self.pending_records.len() as u64 + first as u64;
        let raw = &self.pending[start..start + len];
        self.compressed.clear();
        self.compressed.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        self.compressor.compress_to_buffer(raw, &mut self.compressed).map_err(|e| BufferError::io(&self.name, e))?;
        let header = BlockHeader {
            kind: BlockKind::Records,
            codec: self.codec,
            stored_len: self.compressed.len() as u32,
            raw_len: raw.len() as u32,
            first_id,
            count: records.len() as u32,
            payload_crc: crc32fast::hash(&self.compressed),
            min_step: records.iter().map(|r| r.step).min().unwrap_or(0),
            max_step: records.iter().map(|r| r.step).max().unwrap_or(0),
            min_reward: records.iter().map(|r| r.reward).fold(f64::INFINITY, f64::min),
            max_reward: records.iter().map(|r| r.reward).fold(f64::NEG_INFINITY, f64::max),
        };
        let offset = self.position;
        let compressed = std::mem::take(&mut self.compressed);
        let written = self.write_raw_block(&header, &compressed);
        self.compressed = compressed;
        written?;
        self.entries.push(BlockEntry { offset, header });
        Ok(())
    }

    fn write_raw_block(&mut self, header: &BlockHeader, payload: &[u8]) -> Result<()> {
        self.out
            .write_all(&header.encode())
            .and_then(|()| self.out.write_all(payload))
            .map_err(|e| BufferError::io(&self.name, e))?;
        self.position += header.total_len();
        Ok(())
    }
}

/// Rejects values JSON cannot represent (serde_json would silently turn NaN into `null`).
fn validate_record(record: &Record) -> Result<()> {
    let invalid = |reason: String| BufferError::InvalidRecord { task_id: record.task_id.clone(), reason };
    if !record.reward.is_finite() {
        return Err(invalid(format!("reward is {}", record.reward)));
    }
    if let Some((name, value)) = record.reward_components.iter().find(|(_, v)| !v.is_finite()) {
        return Err(invalid(format!("reward component `{name}` is {value}")));
    }
    if let Some(position) = record.logprobs.as_ref().and_then(|l| l.iter().position(|v| !v.is_finite())) {
        return Err(invalid(format!("log-prob at position {position} is not finite")));
    }
    Ok(())
}

impl Drop for BufferWriter {
    /// Best effort: write pending records so a forgotten `finish` loses nothing that fits in a block (the index is
    /// then rebuilt by scanning on open). Errors cannot be reported here; call `finish` or `sync` to see them.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.flush();
        }
    }
}
