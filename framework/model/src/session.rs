//! Multi-turn batched decoding over one KV cache.
//!
//! An agent episode alternates model turns and environment observations. Re-running [`crate::generate`] on the
//! whole history every turn costs `length × turns` prefill; a [`TurnSession`] keeps every conversation's keys and
//! values, so each turn only feeds what is new (the previous turn's last token and the observation) and an episode
//! costs about its own length. Rows that finish a turn early, and rows whose new input is shorter than the
//! longest, occupy padding slots that no real token ever attends to (see [`SlotValidity`]).

use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{ModelError, Result};
use crate::generate::{Completion, FinishReason, GenerationConfig, cut_at_stop, finish_of};
use crate::kv_cache::KvCache;
use crate::mask::SlotValidity;
use crate::mode::Mode;
use crate::qwen2::{ForwardInput, Qwen2};
use crate::sampling::{log_prob, sample_token};
use crate::tokenizer::Tokenizer;

/// Free slots allocated beyond the longest prompt when a session opens (the cache grows by half when full).
const GROWTH_SLOTS: usize = 256;

/// One conversation of a session.
#[derive(Debug)]
struct SessionRow {
    key: usize,
    rng: ChaCha8Rng,
    /// Tokens appended since the last forward pass (fed at the start of the next turn).
    pending: Vec<u32>,
}

/// A batch of conversations decoded turn by turn, each identified by a caller-chosen key.
#[derive(Debug)]
pub struct TurnSession<'m> {
    model: &'m Qwen2,
    cfg: GenerationConfig,
    cache: KvCache,
    validity: SlotValidity,
    rows: Vec<SessionRow>,
}

impl<'m> TurnSession<'m> {
    /// Opens a session: one row per `(key, prompt, seed)`. Nothing runs until [`TurnSession::generate_turn`].
    /// A row's samples come from its own RNG seeded with `seed`.
    pub fn new(model: &'m Qwen2, cfg: GenerationConfig, starts: Vec<(usize, Vec<u32>, u64)>) -> Result<Self> {
        cfg.sampling.validate()?;
        let longest = starts.iter().map(|(_, p, _)| p.len()).max().unwrap_or(0);
        let mut rows = Vec::with_capacity(starts.len());
        for (key, prompt, seed) in starts {
            if rows.iter().any(|r: &SessionRow| r.key == key) {
                return Err(ModelError::Input(format!("session key {key} is used twice")));
            }
            rows.push(SessionRow { key, rng: ChaCha8Rng::seed_from_u64(seed), pending: Vec::new() });
            let last = rows.len() - 1;
            push_checked(model, &mut rows[last], &prompt)?;
        }
        let cache = model.new_cache(rows.len().max(1), longest + GROWTH_SLOTS)?;
        let validity = SlotValidity::new(vec![Vec::new(); rows.len()])?;
        Ok(TurnSession { model, cfg, cache, validity, rows })
    }

    /// Keys of the conversations still in the session, in row order.
    pub fn keys(&self) -> Vec<usize> {
        self.rows.iter().map(|r| r.key).collect()
    }

    /// Slots every row occupies in the cache so far (real tokens and padding).
    pub fn slots(&self) -> usize {
        self.validity.len()
    }

    /// Appends tokens (an observation and the next generation prompt) to conversation `key`; they are fed at
    /// the start of the next turn.
    pub fn push_tokens(&mut self, key: usize, tokens: &[u32]) -> Result<()> {
        let model = self.model;
        let row = self
            .rows
            .iter_mut()
            .find(|r| r.key == key)
            .ok_or_else(|| ModelError::Input(format!("session has no conversation {key}")))?;
        push_checked(model, row, tokens)
    }

    /// Drops finished conversations, so later turns do no work for them.
    pub fn remove(&mut self, keys: &[usize]) -> Result<()> {
        let keep: Vec<usize> = (0..self.rows.len()).filter(|&i| !keys.contains(&self.rows[i].key)).collect();
        if keep.len() == self.rows.len() {
            return Ok(());
        }
        if keep.is_empty() {
            self.rows.clear();
            self.validity = SlotValidity::new(Vec::new())?;
            return Ok(());
        }
        let idx =
            Tensor::from_vec(keep.iter().map(|&i| i as u32).collect::<Vec<_>>(), keep.len(), self.model.device())?;
        self.cache.select_rows(&idx)?;
        self.validity.retain_rows(&keep);
        let mut old: Vec<Option<SessionRow>> = std::mem::take(&mut self.rows).into_iter().map(Some).collect();
        self.rows = keep.iter().filter_map(|&i| old[i].take()).collect();
        Ok(())
    }

    /// Runs one turn for every conversation: feeds its pending tokens, then samples until EOS, a stop string or
    /// `max_new_tokens(key)` tokens. Returns one completion per key, in row order. The last generated token of
    /// each row stays pending, so the next turn starts right after it.
    pub fn generate_turn(
        &mut self,
        max_new_tokens: impl Fn(usize) -> usize,
        tokenizer: Option<&Tokenizer>,
    ) -> Result<Vec<(usize, Completion)>> {
        if self.rows.is_empty() {
            return Ok(Vec::new());
        }
        if !self.cfg.stop_strings.is_empty() && tokenizer.is_none() {
            return Err(ModelError::Input("stop strings need a tokenizer to decode the generated text".to_string()));
        }
        if let Some(row) = self.rows.iter().find(|r| r.pending.is_empty()) {
            return Err(ModelError::Input(format!("conversation {} has no new tokens to continue from", row.key)));
        }
        let limits: Vec<usize> = self.rows.iter().map(|r| max_new_tokens(r.key)).collect();
        let max_pos = self.model.config().max_position_embeddings;
        for (i, (row, limit)) in self.rows.iter().zip(&limits).enumerate() {
            let real = self.validity.real_tokens(i);
            if real + row.pending.len() + limit > max_pos {
                return Err(ModelError::Input(format!(
                    "conversation {}: {} tokens + {} pending + {limit} new exceed max_position_embeddings {max_pos}",
                    row.key,
                    real,
                    row.pending.len()
                )));
            }
        }
        let mut logits = self.feed_pending()?;
        let n = self.rows.len();
        let mut tokens: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut logprobs: Vec<Vec<f32>> = vec![Vec::new(); n];
        let mut finish: Vec<Option<FinishReason>> =
            limits.iter().map(|&l| if l == 0 { Some(FinishReason::Length) } else { None }).collect();
        while finish.iter().any(Option::is_none) {
            let mut next = Vec::with_capacity(n);
            let mut valid = Vec::with_capacity(n);
            for slot in 0..n {
                if finish[slot].is_some() {
                    next.push(self.cfg.pad_token_id);
                    valid.push(false);
                    continue;
                }
                let token = sample_token(&logits[slot], &self.cfg.sampling, &mut self.rows[slot].rng);
                tokens[slot].push(token);
                logprobs[slot].push(log_prob(&logits[slot], token));
                finish[slot] = finish_of(&tokens[slot], limits[slot], &self.cfg, tokenizer)?;
                // A row that just finished keeps its last token for the next turn instead of feeding it now.
                let feed = finish[slot].is_none();
                next.push(if feed { token } else { self.cfg.pad_token_id });
                valid.push(feed);
            }
            if finish.iter().all(Option::is_some) {
                break;
            }
            logits = self.forward_chunk(next, vec![valid], 1)?;
        }
        let mut out = Vec::with_capacity(n);
        for (slot, row) in self.rows.iter_mut().enumerate() {
            if let Some(&last) = tokens[slot].last() {
                row.pending.push(last);
            }
            let finish_reason = finish[slot].unwrap_or(FinishReason::Length);
            let text = match tokenizer {
                Some(tk) => Some(cut_at_stop(tk.decode(&tokens[slot])?, &self.cfg.stop_strings, finish_reason)),
                None => None,
            };
            let completion = Completion {
                tokens: std::mem::take(&mut tokens[slot]),
                logprobs: std::mem::take(&mut logprobs[slot]),
                finish_reason,
                text,
            };
            out.push((row.key, completion));
        }
        Ok(out)
    }

    /// Feeds every row's pending tokens in one forward pass (left-padded to the longest) and returns each
    /// row's next-token logits.
    fn feed_pending(&mut self) -> Result<Vec<Vec<f32>>> {
        let width = self.rows.iter().map(|r| r.pending.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(self.rows.len() * width);
        let mut columns = vec![Vec::with_capacity(self.rows.len()); width];
        for row in &mut self.rows {
            let pad = width - row.pending.len();
            ids.extend(std::iter::repeat_n(self.cfg.pad_token_id, pad).chain(row.pending.drain(..)));
            for (j, column) in columns.iter_mut().enumerate() {
                column.push(j >= pad);
            }
        }
        self.forward_chunk(ids, columns, width)
    }

    /// Runs `ids` (`rows × width`, row-major) through the model on top of the cache; `columns[j][r]` says whether
    /// slot `j` of row `r` is a real token. Returns the logits after the last slot of every row.
    fn forward_chunk(&mut self, ids: Vec<u32>, columns: Vec<Vec<bool>>, width: usize) -> Result<Vec<Vec<f32>>> {
        let device = self.model.device().clone();
        let start = self.validity.len();
        for column in &columns {
            self.validity.push(column);
        }
        self.cache.reserve(width)?;
        let input = ForwardInput {
            ids: Tensor::from_vec(ids, (self.rows.len(), width), &device)?,
            positions: self.validity.positions(start, &device)?,
            mask: self.validity.mask(start, &device)?,
        };
        let hidden = self.model.forward_hidden(&input, Some(&mut self.cache), Mode::Infer)?;
        let t = hidden.dim(1)?;
        Ok(self.model.logits(&hidden.narrow(1, t - 1, 1)?, Mode::Infer)?.squeeze(1)?.to_vec2::<f32>()?)
    }
}

/// Queues `tokens` on `row` after checking they are in the vocabulary.
fn push_checked(model: &Qwen2, row: &mut SessionRow, tokens: &[u32]) -> Result<()> {
    let vocab = model.config().vocab_size as u32;
    if let Some(bad) = tokens.iter().find(|&&t| t >= vocab) {
        return Err(ModelError::Input(format!("conversation {}: token id {bad} ≥ vocab_size {vocab}", row.key)));
    }
    row.pending.extend_from_slice(tokens);
    Ok(())
}
