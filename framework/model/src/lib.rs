//! The policy: a trainable Qwen2-architecture language model in candle, its tokenizer, sampling and optimiser.
//!
//! One implementation serves the tiny embedded default and real Hugging Face Qwen2/Qwen2.5 checkpoints. It is
//! written for training: candle's fused `softmax_last_dim`, `rms_norm` and `rope` have no backward pass, so
//! [`Mode::Train`] uses differentiable forms and [`Mode::Infer`] the fused ones (with detached weights).
//!
//! Map: [`config`] (HF `config.json`), [`qwen2`] (the model) built from [`attention`], [`linear`] (+LoRA),
//! [`norm`], [`rope`], [`mask`], [`kv_cache`], [`fused`] (training kernels with backward); [`weights`] and [`pretrained`] (HF directory I/O), [`init`]
//! (random weights), [`lora`] (adapters, PEFT layout), [`tokenizer`] (BPE training), [`sampling`] and
//! [`generate`] (batched decoding), [`logprobs`] (teacher forcing), [`gradients`], [`adamw`], [`schedule`]
//! (optimisation), [`threads`] (thread count), [`allocator`] (malloc settings binaries apply), [`bench`]
//! (throughput).

pub mod adamw;
pub mod allocator;
pub mod attention;
pub mod bench;
pub mod config;
pub mod error;
pub mod fused;
pub mod generate;
pub mod gradients;
pub mod init;
pub mod kv_cache;
pub mod linear;
pub mod logprobs;
pub mod lora;
pub mod mask;
pub mod mode;
pub mod norm;
pub mod pretrained;
pub mod qwen2;
pub mod rope;
pub mod sampling;
pub mod schedule;
pub mod session;
pub mod threads;
pub mod tokenizer;
pub mod weights;

pub use adamw::{AdamW, AdamWConfig};
pub use allocator::tune_allocator_for_tensors;
pub use config::{GenerationDefaults, Qwen2Config, TokenIds};
pub use error::{ModelError, Result};
pub use generate::{Completion, FinishReason, GenerationConfig, GenerationRequest, generate};
pub use gradients::{GradAccumulator, Gradients};
pub use init::{InitStyle, random_model};
pub use logprobs::{PaddedBatch, TokenLogProbs, masked_nll, token_logprobs};
pub use lora::{LoraConfig, attach_lora, load_peft_adapter, save_peft_adapter};
pub use mode::Mode;
pub use pretrained::{Pretrained, SaveOptions, load_pretrained, save_pretrained};
pub use qwen2::Qwen2;
pub use sampling::SamplingConfig;
pub use schedule::LrSchedule;
pub use session::TurnSession;
pub use threads::ComputePool;
pub use tokenizer::{Tokenizer, TokenizerTrainConfig};
