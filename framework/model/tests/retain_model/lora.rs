//! LoRA: only adapters change in training; merged and PEFT saves reproduce the adapted model.

use candle_core::Device;
use retain_model::lora::{ADAPTER_CONFIG, ADAPTER_WEIGHTS};
use retain_model::{
    AdamW, AdamWConfig, Gradients, LoraConfig, Mode, PaddedBatch, SaveOptions, attach_lora, load_peft_adapter,
    load_pretrained, masked_nll, save_peft_adapter, save_pretrained, token_logprobs,
};

use super::common::{full_logits, ids, max_abs_diff, tiny_model};

fn lora_cfg() -> LoraConfig {
    LoraConfig {
        rank: 2,
        alpha: 4.0,
        dropout: 0.0,
        target_modules: vec!["q_proj".into(), "v_proj".into(), "down_proj".into()],
    }
}

#[test]
fn lora_training_changes_only_adapters_and_saves_both_ways() {
    let mut model = tiny_model(true, 41);
    let base_before = model.base_tensors().unwrap();
    let tokens = ids(9, 13, 97);
    let logits_before = full_logits(&model, &tokens, Mode::Infer);
    attach_lora(&mut model, &lora_cfg(), 5).unwrap();
    // Fresh adapters (B = 0) leave the function unchanged.
    assert_eq!(max_abs_diff(&full_logits(&model, &tokens, Mode::Infer), &logits_before), 0.0);
    assert_eq!(model.trainable().len(), 2 * 3 * 2);

    let seqs = vec![ids(1, 10, 97), ids(2, 8, 97)];
    let masks: Vec<Vec<f32>> = seqs.iter().map(|s| vec![1.0; s.len()]).collect();
    let batch = PaddedBatch::new(&seqs, &masks, 0, &Device::Cpu).unwrap();
    let mut opt = AdamW::new(AdamWConfig::default());
    for step in 0..3 {
        let stats = token_logprobs(&model, &batch, Mode::Train { dropout_seed: step }, false).unwrap();
        let grads = Gradients::from_loss(&masked_nll(&stats).unwrap(), model.trainable()).unwrap();
        opt.step(model.trainable(), &grads, 1e-2).unwrap();
    }
    let base_after = model.base_tensors().unwrap();
    for (name, t) in &base_before {
        assert_eq!(max_abs_diff(t, &base_after[name]), 0.0, "base weight `{name}` changed");
    }
    let adapted = full_logits(&model, &tokens, Mode::Infer);
    assert!(max_abs_diff(&adapted, &logits_before) > 1e-4, "the adapters did not change the model");

    // Merged save: a plain model with the same function.
    let merged_dir = tempfile::tempdir().unwrap();
    save_pretrained(merged_dir.path(), &model, None, None, &SaveOptions::default()).unwrap();
    let merged = load_pretrained(merged_dir.path(), &Device::Cpu).unwrap().model;
    assert!(max_abs_diff(&full_logits(&merged, &tokens, Mode::Infer), &adapted) < 1e-5);

    // PEFT save: adapter files with PEFT names, re-attached onto the untouched base.
    let peft_dir = tempfile::tempdir().unwrap();
    save_peft_adapter(&model, &lora_cfg(), peft_dir.path(), None).unwrap();
    assert!(peft_dir.path().join(ADAPTER_CONFIG).exists());
    let names = retain_model::weights::load_file(&peft_dir.path().join(ADAPTER_WEIGHTS), &Device::Cpu).unwrap();
    assert!(names.contains_key("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
    let mut fresh = tiny_model(true, 41);
    let cfg = load_peft_adapter(&mut fresh, peft_dir.path()).unwrap();
    assert_eq!(cfg, lora_cfg());
    assert_eq!(max_abs_diff(&full_logits(&fresh, &tokens, Mode::Infer), &adapted), 0.0);
}

#[test]
fn unknown_target_module_is_rejected() {
    let mut model = tiny_model(true, 42);
    let cfg = LoraConfig { target_modules: vec!["qkv".into()], ..lora_cfg() };
    let err = attach_lora(&mut model, &cfg, 0).unwrap_err().to_string();
    assert!(err.contains("qkv"), "{err}");
}
