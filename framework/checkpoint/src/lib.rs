//! The checkpoint store: atomic, verified, immutable checkpoints of a continual-learning run.
//!
//! A checkpoint is the unit users keep, share, resume and branch from, so it must never be half-written or silently
//! wrong. This crate knows nothing about models: the trainer hands over the parts as bytes, files or closures that
//! write a file, and gets them back verified. Layout (see `DESIGN.md`, Checkpoints):
//!
//! ```text
//! runs/<name>/
//!   checkpoint_task_{i}/  checkpoint_task_{i}_step_{s}/
//!     manifest.json              format version, every file with size + sha256, parent, config hash, plugins
//!     model/                     Hugging Face layout files
//!     optimizer.safetensors      optimizer state
//!     state.json                 the trainer's opaque JSON (RNG states, cursors, scheduler)
//!     trajectories/<domain>.zst  trajectory buffers
//!     plugins/<name>/state.bin   each plugin's saved state
//!     config.json metrics.jsonl matrix.json   copies of the run files, so the checkpoint is reportable alone
//!   latest                       name of the newest checkpoint, written last
//! ```
//!
//! - Write: [`RunDir::begin`] → [`CheckpointWriter`] (`add_model_file`, `add_optimizer`, `set_state`,
//!   `add_trajectories`, `add_plugin`, `add_run_files`, `add_with`) → [`CheckpointWriter::commit`].
//! - Read: [`resolve`] / [`Checkpoint::open`] → [`Checkpoint::verify`], [`Checkpoint::check_config_hash`],
//!   [`Checkpoint::check_plugins`] → [`Checkpoint::state`], [`Checkpoint::read_verified`], …
//! - Recover: [`RunDir::clean_stale`] after a crash, [`find_latest_valid`] for `--fallback`.

pub mod bench;
mod checkpoint;
mod error;
mod fsutil;
mod hash;
mod manifest;
mod name;
mod run_dir;
mod writer;

pub use checkpoint::{Checkpoint, FileCheck};
pub use error::{CheckpointError, Result};
pub use fsutil::{Durability, write_atomic};
pub use hash::{ConfigHash, FileDigest, canonical_json, hash_bytes, hash_file};
pub use manifest::{
    CheckpointRef, CreationInfo, FORMAT_VERSION, FileEntry, MANIFEST_FILE, Manifest, PluginEntry, PluginInfo,
};
pub use name::CheckpointName;
pub use run_dir::{Fallback, LATEST_FILE, RunDir, Skipped, TEMP_PREFIX, find_latest_valid, resolve};
pub use writer::{
    CheckpointMeta, CheckpointWriter, Committed, MODEL_DIR, OPTIMIZER_FILE, PLUGINS_DIR, RUN_FILES, STATE_FILE, Source,
    TRAJECTORIES_DIR, WriteOptions,
};
