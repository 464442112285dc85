//! Byte-level BPE tokenizer trained in memory with the `tokenizers` crate, carrying Qwen2.5's chat tokens.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::normalizers::{NormalizerWrapper, unicode::NFC};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, TokenizerBuilder};

use crate::error::{ModelError, Result};

/// Qwen2.5's end-of-text token (also its pad token).
pub const ENDOFTEXT: &str = "<|endoftext|>";
/// Opens a chat turn.
pub const IM_START: &str = "<|im_start|>";
/// Closes a chat turn; the end-of-sequence token of a chat model.
pub const IM_END: &str = "<|im_end|>";
/// Opens a tool call.
pub const TOOL_CALL_START: &str = "<tool_call>";
/// Closes a tool call.
pub const TOOL_CALL_END: &str = "</tool_call>";
/// Special (control) tokens, in Qwen2.5's id order; they come first in the vocabulary.
pub const SPECIAL_TOKENS: [&str; 3] = [ENDOFTEXT, IM_START, IM_END];
/// Added tokens that are text (decoded, not skipped), as in Qwen2.5.
pub const CHAT_ADDED_TOKENS: [&str; 2] = [TOOL_CALL_START, TOOL_CALL_END];

/// Qwen2's pre-tokenisation regex (digits split one by one).
const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// How to train the tokenizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerTrainConfig {
    /// Final vocabulary size, added tokens included.
    pub vocab_size: usize,
    /// Minimum pair frequency for a merge.
    #[serde(default = "default_min_frequency")]
    pub min_frequency: u64,
    /// Split digits one by one as Qwen2 does; off lets BPE merge numbers and ids into single tokens.
    #[serde(default)]
    pub split_digits: bool,
    /// Extra whole-string tokens (e.g. database entity ids) registered as added tokens after training.
    #[serde(default)]
    pub extra_tokens: Vec<String>,
}

fn default_min_frequency() -> u64 {
    2
}

impl Default for TokenizerTrainConfig {
    fn default() -> Self {
        TokenizerTrainConfig { vocab_size: 4096, min_frequency: 2, split_digits: false, extra_tokens: Vec::new() }
    }
}

/// A Hugging Face tokenizer (`tokenizer.json`) with typed errors and the chat token ids at hand.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer(vocab={})", self.vocab_size())
    }
}

fn tk_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

impl Tokenizer {
    /// Trains byte-level BPE on `corpus` (in memory). Ids: the special tokens first (0, 1, 2), then the 256 byte
    /// symbols and merges, then `<tool_call>`, `</tool_call>` and `extra_tokens`. Deterministic for equal input.
    pub fn train<S: AsRef<str> + Sync>(corpus: &[S], cfg: &TokenizerTrainConfig) -> Result<Self> {
        let added = CHAT_ADDED_TOKENS.len() + cfg.extra_tokens.len();
        let floor = SPECIAL_TOKENS.len() + 256 + added;
        if cfg.vocab_size < floor {
            return Err(ModelError::Config(format!(
                "tokenizer `vocab_size` {} is below the minimum {floor} (specials + 256 bytes + added tokens)",
                cfg.vocab_size
            )));
        }
        let specials = SPECIAL_TOKENS.iter().map(|s| AddedToken::from(*s, true)).collect();
        let mut trainer = BpeTrainerBuilder::new()
            .show_progress(false)
            .vocab_size(cfg.vocab_size - added)
            .min_frequency(cfg.min_frequency)
            .special_tokens(specials)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build();
        let pre: PreTokenizerWrapper = if cfg.split_digits {
            let split =
                Split::new(SplitPattern::Regex(QWEN2_PATTERN.to_string()), SplitDelimiterBehavior::Isolated, false)
                    .map_err(tk_err)?;
            Sequence::new(vec![split.into(), ByteLevel::new(false, true, false).into()]).into()
        } else {
            ByteLevel::new(false, true, true).into()
        };
        let mut tk =
            TokenizerBuilder::<BPE, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>::new(
            )
            .with_model(BPE::default())
            .with_normalizer(Some(NFC.into()))
            .with_pre_tokenizer(Some(pre))
            .with_post_processor(Some(ByteLevel::new(false, false, false).into()))
            .with_decoder(Some(ByteLevel::default().into()))
            .build()
            .map_err(tk_err)?;
        tk.train(&mut trainer, corpus.iter().map(|s| s.as_ref())).map_err(tk_err)?;
        let mut inner = tokenizers::Tokenizer::from(tk);
        let extra = CHAT_ADDED_TOKENS
            .iter()
            .map(|s| s.to_string())
            .chain(cfg.extra_tokens.iter().cloned())
            .map(|s| AddedToken::from(s, false).normalized(false));
        inner.add_tokens(extra).map_err(tk_err)?;
        Ok(Tokenizer { inner })
    }

    /// Loads `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| ModelError::Tokenizer(format!("loading `{}`: {e}", path.display())))?;
        Ok(Tokenizer { inner })
    }

    /// Writes `tokenizer.json` (the format transformers and the Python `tokenizers` read).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.inner.save(path, false).map_err(|e| ModelError::Tokenizer(format!("writing `{}`: {e}", path.display())))
    }

    /// Registers more whole-string tokens (e.g. new entity ids); returns how many were new.
    pub fn add_tokens(&mut self, tokens: &[String]) -> Result<usize> {
        let added = tokens.iter().map(|s| AddedToken::from(s.clone(), false).normalized(false));
        self.inner.add_tokens(added).map_err(tk_err)
    }

    /// Vocabulary size including added tokens (the model's `vocab_size` must be at least this).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids of `text`; special-token strings in the text map to their ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.inner.encode(text, false).map_err(tk_err)?.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens included (so stop strings and chat markers stay visible).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(tk_err)
    }

    /// The vocabulary's word tokens: every token that decodes to two or more ASCII letters, with an optional
    /// leading space (dropped), sorted and without repeats. Copy drills build ids from them, so that copying is
    /// practised on every word the model will meet, not only on the drills' own syllables.
    pub fn words(&self) -> Result<Vec<String>> {
        let mut words = std::collections::BTreeSet::new();
        for id in self.inner.get_vocab(false).into_values() {
            let text = self.decode(&[id])?;
            let word = text.strip_prefix(' ').unwrap_or(&text);
            if word.len() >= 2 && word.chars().all(|c| c.is_ascii_alphabetic()) {
                words.insert(word.to_owned());
            }
        }
        Ok(words.into_iter().collect())
    }

    /// Id of a token string, if in the vocabulary.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The underlying `tokenizers` object, for anything not wrapped here.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        (0..200).map(|i| format!("{IM_START}user\nCancel reservation R{i:04} for user U{}{IM_END}\n", i * 7)).collect()
    }

    #[test]
    fn trained_tokenizer_has_chat_tokens_and_round_trips() {
        let cfg = TokenizerTrainConfig {
            vocab_size: 400,
            min_frequency: 1,
            split_digits: false,
            extra_tokens: vec!["U_ENTITY_42".to_string()],
        };
        let tk = Tokenizer::train(&corpus(), &cfg).unwrap();
        assert_eq!(tk.token_id(ENDOFTEXT), Some(0));
        assert_eq!(tk.token_id(IM_START), Some(1));
        assert_eq!(tk.token_id(IM_END), Some(2));
        assert!(tk.token_id(TOOL_CALL_START).is_some());
        assert!(tk.vocab_size() <= 400);
        let text = format!("{IM_START}assistant\n{TOOL_CALL_START}{{\"id\": \"U_ENTITY_42\"}}{TOOL_CALL_END}{IM_END}");
        let ids = tk.encode(&text).unwrap();
        assert!(ids.contains(&tk.token_id("U_ENTITY_42").unwrap()));
        assert_eq!(tk.decode(&ids).unwrap(), text);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        tk.save(&path).unwrap();
        let back = Tokenizer::from_file(&path).unwrap();
        assert_eq!(back.encode(&text).unwrap(), ids);
    }

    #[test]
    fn qwen_digit_splitting_is_optional() {
        let mut cfg = TokenizerTrainConfig { vocab_size: 500, min_frequency: 1, ..Default::default() };
        cfg.split_digits = true;
        let tk = Tokenizer::train(&corpus(), &cfg).unwrap();
        let ids = tk.encode("1234").unwrap();
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn words_are_the_letter_tokens_without_their_leading_space() {
        let cfg = TokenizerTrainConfig { vocab_size: 400, min_frequency: 1, ..Default::default() };
        let tk = Tokenizer::train(&corpus(), &cfg).unwrap();
        let words = tk.words().unwrap();
        assert!(words.iter().any(|w| w == "reservation"), "{words:?}");
        assert!(words.iter().all(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic())), "{words:?}");
        assert!(words.windows(2).all(|p| p[0] < p[1]), "sorted, no repeats");
        for word in &words {
            let id = tk.encode(word).unwrap();
            let spaced = tk.encode(&format!(" {word}")).unwrap();
            assert!(id.len() == 1 || spaced.len() == 1, "`{word}` is a token, with or without its space");
        }
    }
}
