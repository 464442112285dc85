//! Every trainable tensor receives a non-zero gradient in training mode (tied, untied, LoRA).

use candle_core::Device;
use retain_model::{
    AdamW, AdamWConfig, Gradients, LoraConfig, Mode, PaddedBatch, Qwen2, attach_lora, masked_nll, token_logprobs,
};

use super::common::{ids, tiny_model};

fn batch() -> PaddedBatch {
    let seqs = vec![ids(1, 12, 97), ids(2, 7, 97), ids(3, 10, 97)];
    let masks: Vec<Vec<f32>> = seqs.iter().map(|s| vec![1.0; s.len()]).collect();
    PaddedBatch::new(&seqs, &masks, 0, &Device::Cpu).unwrap()
}

fn grads(model: &Qwen2, seed: u64) -> Gradients {
    let stats = token_logprobs(model, &batch(), Mode::Train { dropout_seed: seed }, false).unwrap();
    Gradients::from_loss(&masked_nll(&stats).unwrap(), model.trainable()).unwrap()
}

fn assert_all_nonzero(model: &Qwen2, g: &Gradients, expected_count: usize) {
    assert_eq!(model.trainable().len(), expected_count);
    assert!(g.missing().is_empty(), "no gradient for {:?}", g.missing());
    for (name, grad) in g.iter() {
        let total = grad.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(total > 0.0 && total.is_finite(), "gradient of `{name}` is {total}");
    }
}

#[test]
fn tied_model_every_weight_gets_a_gradient() {
    let model = tiny_model(true, 1);
    // embed + final norm + per layer (2 norms, q/k/v weight+bias, o, gate, up, down = 12)
    assert_all_nonzero(&model, &grads(&model, 0), 2 + 2 * 12);
}

#[test]
fn untied_model_every_weight_gets_a_gradient() {
    let model = tiny_model(false, 2);
    assert_all_nonzero(&model, &grads(&model, 0), 3 + 2 * 12);
}

#[test]
fn lora_every_adapter_gets_a_gradient_and_base_gets_none() {
    let mut model = tiny_model(true, 3);
    let cfg = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.1,
        target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
            .map(String::from)
            .to_vec(),
    };
    attach_lora(&mut model, &cfg, 7).unwrap();
    assert!(model.trainable().keys().all(|k| k.contains(".lora_")));
    // B starts at zero, so A's gradient is zero until one update has moved B.
    let mut opt = AdamW::new(AdamWConfig::default());
    opt.step(model.trainable(), &grads(&model, 0), 1e-2).unwrap();
    assert_all_nonzero(&model, &grads(&model, 1), 2 * 7 * 2);
}
