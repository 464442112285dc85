//! A zstd-compressed, append-only, crash-safe trajectory buffer with random access.
//!
//! Every rollout the agent produces is kept, per domain, in a buffer file inside the checkpoint: the raw material
//! for replay, failure analysis and export of good trajectories. The on-disk format is described in `FORMAT.md`:
//! a file header, append-only zstd-compressed blocks of records (each with a checksummed header), an optional
//! dictionary trained on the first records, and an index written on close that a scan can always rebuild.
//!
//! - [`BufferWriter`]: streaming append, `flush`/`sync`, `finish`; reopening cuts a torn tail left by a crash.
//! - [`BufferReader`]: open with recovery, iterate, get by id — one block in memory at a time.
//! - [`statistics`], [`export_jsonl`], [`sample`] with [`RecordFilter`]s: per-domain statistics, JSON Lines export
//!   and seeded sampling, all streaming.

pub mod bench;
mod codec;
mod error;
mod export;
mod filter;
mod format;
mod reader;
mod record;
mod sample;
mod stats;
pub mod synthetic;
mod writer;

pub use error::{BufferError, Result};
pub use export::{ExportSummary, export_jsonl, export_jsonl_to_path};
pub use filter::RecordFilter;
pub use format::{BlockEntry, BlockHeader, BlockKind, Codec, FORMAT_VERSION, HARD_MAX_BLOCK_BYTES};
pub use reader::{BufferReader, Records, Recovery};
pub use record::{Record, RecordId, StoredRecord, TerminationReason};
pub use sample::{SampleStrategy, balanced_quotas, fetch, sample, sample_ids};
pub use stats::{BufferStats, DomainStats, RunningSummary, Summary, statistics};
pub use writer::{BufferWriter, DictionaryConfig, WriteSummary, WriterConfig};

/// Serialises a stored record as one JSON Lines line (id first, then the record's fields), the shape of
/// [`export_jsonl`]; used by tools that print samples.
pub fn to_json_line(record: &StoredRecord) -> std::result::Result<String, serde_json::Error> {
    serde_json::to_string(&record::ExportLine { id: record.id, record: &record.record })
}
