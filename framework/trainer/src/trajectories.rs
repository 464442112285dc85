//! Every RL rollout of a run, kept in the zstd trajectory buffer of its domain (`trajectories/<domain>.zst` in
//! the run directory, copied into every checkpoint): what replay samples from and what `retain buffer` inspects.
//! On resume the buffers are restored from the checkpoint's copies, so records of an abandoned future vanish.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use retain_buffers::{BufferWriter, Record, WriterConfig};
use retain_plugin_host::pipeline::RewardBreakdown;

use crate::error::{Result, TrainerError};
use crate::rollout::Rollout;

/// Directory of the buffers inside a run directory.
pub const TRAJECTORIES_DIR: &str = "trajectories";

/// The run's buffers, one writer per domain, opened when the domain's first rollout arrives.
pub struct TrajectoryStore {
    dir: PathBuf,
    writers: BTreeMap<String, BufferWriter>,
}

impl std::fmt::Debug for TrajectoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrajectoryStore").field("dir", &self.dir).field("open", &self.writers.keys()).finish()
    }
}

impl TrajectoryStore {
    /// The store of the run directory `run_dir` (nothing is created until the first append).
    pub fn new(run_dir: &Path) -> Self {
        TrajectoryStore { dir: run_dir.join(TRAJECTORIES_DIR), writers: BTreeMap::new() }
    }

    /// Replaces the run directory's buffers with a checkpoint's copies (`(domain, file)` pairs); buffers the
    /// checkpoint does not have are removed.
    pub fn restore(run_dir: &Path, copies: &[(String, PathBuf)]) -> Result<Self> {
        let dir = run_dir.join(TRAJECTORIES_DIR);
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).map_err(|e| TrainerError::io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| TrainerError::io(&dir, e))?;
        for (domain, file) in copies {
            let target = dir.join(format!("{domain}.zst"));
            std::fs::copy(file, &target).map_err(|e| TrainerError::io(file, e))?;
        }
        Ok(TrajectoryStore { dir, writers: BTreeMap::new() })
    }

    fn writer(&mut self, domain: &str) -> Result<&mut BufferWriter> {
        if !self.writers.contains_key(domain) {
            std::fs::create_dir_all(&self.dir).map_err(|e| TrainerError::io(&self.dir, e))?;
            let path = self.dir.join(format!("{domain}.zst"));
            let (writer, _) = BufferWriter::open_or_create(&path, WriterConfig::default())?;
            self.writers.insert(domain.to_owned(), writer);
        }
        self.writers.get_mut(domain).ok_or_else(|| TrainerError::RunDir(format!("no trajectory buffer for `{domain}`")))
    }

    /// Appends one step's rollouts with their rewards; `group` is the number of samples per task.
    pub fn append(
        &mut self,
        rollouts: &[Rollout],
        rewards: &[RewardBreakdown],
        global_step: u64,
        group: usize,
    ) -> Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        for (i, (rollout, reward)) in rollouts.iter().zip(rewards).enumerate() {
            let messages = rollout
                .messages
                .iter()
                .map(|m| {
                    serde_json::to_value(m)
                        .map_err(|source| TrainerError::Json { what: "a message".to_owned(), source })
                })
                .collect::<Result<Vec<_>>>()?;
            let termination = serde_json::from_value(serde_json::Value::from(rollout.evaluation.termination.as_str()))
                .map_err(|source| TrainerError::Json { what: "a termination reason".to_owned(), source })?;
            let record = Record {
                domain: rollout.domain.name().to_owned(),
                task_id: rollout.task.id.clone(),
                step: global_step,
                sample_index: (i % group.max(1)) as u32,
                messages,
                token_ids: Some(rollout.tokens.ids.clone()),
                loss_mask: Some(rollout.tokens.loss_mask.iter().map(|m| *m > 0.0).collect()),
                logprobs: Some(rollout.sample_logprobs.clone()),
                reward: reward.total,
                reward_components: reward.scores.iter().map(|(name, s)| (name.clone(), s.value)).collect(),
                success: rollout.success(),
                termination,
                failure_modes: Vec::new(),
                checkpoint_id: None,
                timestamp_unix_ms: now,
            };
            self.writer(rollout.domain.name())?.append(&record)?;
        }
        Ok(())
    }

    /// Flushes every buffer and returns `(domain, file)` for each, for a checkpoint to copy.
    pub fn flush(&mut self) -> Result<Vec<(String, PathBuf)>> {
        for writer in self.writers.values_mut() {
            writer.sync()?;
        }
        self.files()
    }

    /// Makes every record appended to `domain`'s buffer readable (no fsync) and returns its file, if it exists.
    pub fn flush_domain(&mut self, domain: &str) -> Result<Option<PathBuf>> {
        if let Some(writer) = self.writers.get_mut(domain) {
            writer.flush()?;
        }
        let path = self.dir.join(format!("{domain}.zst"));
        Ok(path.is_file().then_some(path))
    }

    /// `(domain, file)` of every buffer on disk.
    fn files(&self) -> Result<Vec<(String, PathBuf)>> {
        let mut files = Vec::new();
        if self.dir.is_dir() {
            for entry in std::fs::read_dir(&self.dir).map_err(|e| TrainerError::io(&self.dir, e))? {
                let path = entry.map_err(|e| TrainerError::io(&self.dir, e))?.path();
                if let Some(domain) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".zst")) {
                    files.push((domain.to_owned(), path.clone()));
                }
            }
        }
        files.sort();
        Ok(files)
    }

    /// Finishes every buffer (index and footer written, so readers open it without a scan) at the end of a run,
    /// and returns the bytes on disk and records held, over all buffers (for `run_end`).
    pub fn finish(&mut self) -> Result<(u64, u64)> {
        let files = self.files()?;
        for (domain, _) in &files {
            self.writer(domain)?;
        }
        let (mut bytes, mut items) = (0, 0);
        for writer in std::mem::take(&mut self.writers).into_values() {
            let summary = writer.finish()?;
            bytes += summary.file_bytes;
            items += summary.records;
        }
        Ok((bytes, items))
    }
}
