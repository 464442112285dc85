//! Teacher forcing on padded batches, and a tiny model overfitting a handful of demonstrations.

use candle_core::Device;
use retain_model::{AdamW, AdamWConfig, Gradients, LrSchedule, Mode, PaddedBatch, masked_nll, token_logprobs};

use super::common::{ids, max_abs_diff, tiny_model};

#[test]
fn padding_does_not_change_a_sequences_logprobs() {
    let model = tiny_model(true, 61);
    let short = ids(1, 6, 97);
    let long = ids(2, 15, 97);
    let alone = PaddedBatch::new(std::slice::from_ref(&short), &[vec![1.0; 6]], 0, &Device::Cpu).unwrap();
    let padded =
        PaddedBatch::new(&[long.clone(), short.clone()], &[vec![1.0; 15], vec![1.0; 6]], 0, &Device::Cpu).unwrap();
    for mode in [Mode::Infer, Mode::Train { dropout_seed: 0 }] {
        let a = token_logprobs(&model, &alone, mode, true).unwrap();
        let p = token_logprobs(&model, &padded, mode, true).unwrap();
        let pa = p.logprobs.get(1).unwrap().narrow(0, 0, 6).unwrap();
        assert!(max_abs_diff(&a.logprobs.get(0).unwrap(), &pa) < 1e-5);
        let ea = a.entropies.unwrap().get(0).unwrap();
        let ep = p.entropies.unwrap().get(1).unwrap().narrow(0, 0, 6).unwrap();
        assert!(max_abs_diff(&ea, &ep) < 1e-5);
        // Mask: first token and padding excluded.
        let m = p.mask.get(1).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(m[0], 0.0);
        assert!(m[1..6].iter().all(|v| *v == 1.0) && m[6..].iter().all(|v| *v == 0.0));
        let lp = a.logprobs.get(0).unwrap().to_vec1::<f32>().unwrap();
        assert!(lp[1..].iter().all(|v| *v < 0.0 && v.is_finite()));
    }
}

#[test]
fn tiny_model_overfits_a_handful_of_demonstrations() {
    let model = tiny_model(true, 62);
    let seqs: Vec<Vec<u32>> = (0..4).map(|i| ids(100 + i, 20, 97)).collect();
    // Loss only on the second half, as on an assistant turn.
    let masks: Vec<Vec<f32>> =
        seqs.iter().map(|s| (0..s.len()).map(|t| if t >= 10 { 1.0 } else { 0.0 }).collect()).collect();
    let batch = PaddedBatch::new(&seqs, &masks, 0, &Device::Cpu).unwrap();
    let schedule = LrSchedule::Constant { warmup_steps: 5 };
    let mut opt = AdamW::new(AdamWConfig { weight_decay: 0.0, ..Default::default() });
    let mut first = None;
    let mut last = 0.0;
    for step in 0..150 {
        let stats = token_logprobs(&model, &batch, Mode::Train { dropout_seed: step }, false).unwrap();
        let loss = masked_nll(&stats).unwrap();
        last = loss.to_scalar::<f32>().unwrap();
        first.get_or_insert(last);
        let mut grads = Gradients::from_loss(&loss, model.trainable()).unwrap();
        grads.clip_global_norm(1.0).unwrap();
        opt.step(model.trainable(), &grads, schedule.lr(1e-2, step)).unwrap();
    }
    let first = first.unwrap();
    assert!(last < 0.1 * first, "loss went from {first} to {last}, less than a 90% drop");
}
