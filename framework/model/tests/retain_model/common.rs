//! Tiny shapes and helpers shared by the tests.

use candle_core::{Device, Tensor};
use retain_model::mask::SlotValidity;
use retain_model::qwen2::ForwardInput;
use retain_model::{InitStyle, Mode, Qwen2, Qwen2Config, random_model};

/// A 2-layer model with GQA (4 query / 2 KV heads) and a small vocabulary.
pub fn tiny_config(tied: bool) -> Qwen2Config {
    let mut c = Qwen2Config::tiny();
    c.vocab_size = 97;
    c.hidden_size = 32;
    c.intermediate_size = 64;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.max_position_embeddings = 256;
    c.tie_word_embeddings = tied;
    c
}

/// A randomly initialised tiny model where biases and norm scales are random too.
pub fn tiny_model(tied: bool, seed: u64) -> Qwen2 {
    random_model(tiny_config(tied), seed, InitStyle::AllRandom, &Device::Cpu).unwrap()
}

/// Logits `(1, t, vocab)` of one unpadded sequence, no cache.
pub fn full_logits(model: &Qwen2, ids: &[u32], mode: Mode) -> Tensor {
    let dev = Device::Cpu;
    let v = SlotValidity::new(vec![vec![true; ids.len()]]).unwrap();
    let input = ForwardInput {
        ids: Tensor::from_slice(ids, (1, ids.len()), &dev).unwrap(),
        positions: v.positions(0, &dev).unwrap(),
        mask: v.mask(0, &dev).unwrap(),
    };
    let hidden = model.forward_hidden(&input, None, mode).unwrap();
    model.logits(&hidden, mode).unwrap()
}

/// Largest absolute difference of two same-shaped tensors.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// Deterministic pseudo-random token ids in `[3, vocab)`.
pub fn ids(seed: u64, n: usize, vocab: u32) -> Vec<u32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            3 + ((x >> 33) % u64::from(vocab - 3)) as u32
        })
        .collect()
}
