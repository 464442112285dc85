//! AdamW state round trip is bit-exact; clipping and accumulation behave as specified.

use candle_core::Device;
use retain_model::{
    AdamW, AdamWConfig, GradAccumulator, Gradients, Mode, PaddedBatch, Qwen2, load_pretrained, masked_nll,
    save_pretrained, token_logprobs,
};

use super::common::{ids, tiny_model};

fn batch(seed: u64) -> PaddedBatch {
    let seqs = vec![ids(seed, 9, 97), ids(seed + 1, 12, 97)];
    let masks: Vec<Vec<f32>> = seqs.iter().map(|s| vec![1.0; s.len()]).collect();
    PaddedBatch::new(&seqs, &masks, 0, &Device::Cpu).unwrap()
}

fn train_step(model: &Qwen2, opt: &mut AdamW, step: u64) {
    let stats = token_logprobs(model, &batch(step), Mode::Train { dropout_seed: step }, false).unwrap();
    let mut grads = Gradients::from_loss(&masked_nll(&stats).unwrap(), model.trainable()).unwrap();
    grads.clip_global_norm(0.5).unwrap();
    opt.step(model.trainable(), &grads, 3e-3).unwrap();
}

fn weight_bits(model: &Qwen2) -> Vec<u32> {
    model
        .base_tensors()
        .unwrap()
        .values()
        .flat_map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .map(f32::to_bits)
        .collect()
}

#[test]
fn adamw_state_round_trip_gives_bit_identical_next_steps() {
    let model = tiny_model(false, 51);
    let mut opt = AdamW::new(AdamWConfig { weight_decay: 0.1, ..Default::default() });
    for s in 0..2 {
        train_step(&model, &mut opt, s);
    }
    let dir = tempfile::tempdir().unwrap();
    save_pretrained(&dir.path().join("model"), &model, None, None, &Default::default()).unwrap();
    opt.save(&dir.path().join("optimizer.safetensors")).unwrap();
    for s in 2..4 {
        train_step(&model, &mut opt, s);
    }
    let uninterrupted = weight_bits(&model);

    let resumed = load_pretrained(&dir.path().join("model"), &Device::Cpu).unwrap().model;
    let mut opt2 = AdamW::load(&dir.path().join("optimizer.safetensors")).unwrap();
    assert_eq!(opt2.step_count(), 2);
    for s in 2..4 {
        train_step(&resumed, &mut opt2, s);
    }
    assert_eq!(opt2, opt);
    assert!(weight_bits(&resumed) == uninterrupted, "resumed training diverged from the uninterrupted run");
}

#[test]
fn clipping_bounds_the_global_norm() {
    let model = tiny_model(true, 52);
    let stats = token_logprobs(&model, &batch(1), Mode::Train { dropout_seed: 0 }, false).unwrap();
    let mut grads = Gradients::from_loss(&masked_nll(&stats).unwrap(), model.trainable()).unwrap();
    let before = grads.global_norm().unwrap();
    let reported = grads.clip_global_norm(before / 4.0).unwrap();
    assert!((reported - before).abs() < 1e-9);
    assert!((grads.global_norm().unwrap() - before / 4.0).abs() < 1e-3 * before);
}

#[test]
fn accumulating_two_halves_equals_the_mean_of_their_gradients() {
    let model = tiny_model(true, 53);
    let g = |seed| {
        let stats = token_logprobs(&model, &batch(seed), Mode::Train { dropout_seed: 0 }, false).unwrap();
        Gradients::from_loss(&masked_nll(&stats).unwrap(), model.trainable()).unwrap()
    };
    let (a, b) = (g(1), g(7));
    let mut acc = GradAccumulator::new(2).unwrap();
    assert!(acc.add(a.clone()).unwrap().is_none());
    let mean = acc.add(b.clone()).unwrap().unwrap();
    for (name, m) in mean.iter() {
        let expected = ((a.get(name).unwrap() + b.get(name).unwrap()).unwrap() * 0.5).unwrap();
        let d = (m - expected).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(d < 1e-6, "{name}: {d}");
    }
}

#[test]
fn corrupt_state_file_is_rejected_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-an-optimizer.safetensors");
    let model = tiny_model(true, 54);
    save_pretrained(dir.path(), &model, None, None, &Default::default()).unwrap();
    std::fs::copy(dir.path().join("model.safetensors"), &path).unwrap();
    let err = AdamW::load(&path).unwrap_err().to_string();
    assert!(err.contains("not-an-optimizer"), "{err}");
}
