//! Logits agree with candle-transformers' Qwen2 (an independent inference implementation) on equal weights.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::qwen2 as reference;
use retain_model::Mode;

use super::common::{full_logits, ids, max_abs_diff, tiny_model};

fn reference_logits(model: &retain_model::Qwen2, tokens: &[u32]) -> Tensor {
    let dev = Device::Cpu;
    let tensors: HashMap<String, Tensor> = model.base_tensors().unwrap().into_iter().collect();
    let cfg_json = serde_json::to_string(model.config()).unwrap();
    let cfg: reference::Config = serde_json::from_str(&cfg_json).unwrap();
    let vb = VarBuilder::from_tensors(tensors.clone(), DType::F32, &dev);
    let mut m = reference::Model::new(&cfg, vb).unwrap();
    let input = Tensor::from_slice(tokens, (1, tokens.len()), &dev).unwrap();
    let hidden = m.forward(&input, 0, None).unwrap();
    let head = tensors.get("lm_head.weight").unwrap_or(&tensors["model.embed_tokens.weight"]);
    hidden.squeeze(0).unwrap().matmul(&head.t().unwrap()).unwrap().unsqueeze(0).unwrap()
}

#[test]
fn logits_match_candle_transformers_tied_and_untied_in_both_modes() {
    for tied in [true, false] {
        let model = tiny_model(tied, 11);
        let tokens = ids(5, 19, 97);
        let expected = reference_logits(&model, &tokens);
        for mode in [Mode::Infer, Mode::Train { dropout_seed: 0 }] {
            let got = full_logits(&model, &tokens, mode);
            let diff = max_abs_diff(&got, &expected);
            assert!(diff < 1e-4, "tied={tied} mode={mode:?}: max |Δ| = {diff}");
        }
    }
}
