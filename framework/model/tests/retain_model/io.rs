//! Hugging Face directory round trips: exact weights, shards, bf16 conversion, tokenizer, stop strings.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device};
use retain_model::weights::{INDEX_FILE, WEIGHTS_FILE, save_file};
use retain_model::{
    FinishReason, GenerationConfig, GenerationRequest, InitStyle, Mode, SamplingConfig, SaveOptions, Tokenizer,
    TokenizerTrainConfig, generate, load_pretrained, random_model, save_pretrained,
};

use super::common::{full_logits, ids, max_abs_diff, tiny_config, tiny_model};

fn assert_same_weights(a: &retain_model::Qwen2, b: &retain_model::Qwen2) {
    let (wa, wb) = (a.base_tensors().unwrap(), b.base_tensors().unwrap());
    assert_eq!(wa.keys().collect::<Vec<_>>(), wb.keys().collect::<Vec<_>>());
    for (name, t) in &wa {
        let x = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let y = wb[name].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()), "`{name}` changed in the round trip");
    }
}

#[test]
fn save_then_load_is_exact_single_file_and_sharded() {
    for (tied, shard) in [(true, None), (false, Some(20_000))] {
        let model = tiny_model(tied, 31);
        let dir = tempfile::tempdir().unwrap();
        save_pretrained(dir.path(), &model, None, None, &SaveOptions { max_shard_bytes: shard }).unwrap();
        assert_eq!(dir.path().join(INDEX_FILE).exists(), shard.is_some());
        assert_eq!(dir.path().join(WEIGHTS_FILE).exists(), shard.is_none());
        assert!(dir.path().join("config.json").exists() && dir.path().join("generation_config.json").exists());
        let loaded = load_pretrained(dir.path(), &Device::Cpu).unwrap();
        assert_eq!(loaded.model.config().tie_word_embeddings, tied);
        assert_same_weights(&model, &loaded.model);
        let tokens = ids(3, 11, 97);
        let d =
            max_abs_diff(&full_logits(&model, &tokens, Mode::Infer), &full_logits(&loaded.model, &tokens, Mode::Infer));
        assert_eq!(d, 0.0);
    }
}

#[test]
fn bf16_checkpoints_are_converted_to_f32() {
    let model = tiny_model(true, 32);
    let dir = tempfile::tempdir().unwrap();
    save_pretrained(dir.path(), &model, None, None, &SaveOptions::default()).unwrap();
    let bf16: BTreeMap<String, candle_core::Tensor> =
        model.base_tensors().unwrap().into_iter().map(|(n, t)| (n, t.to_dtype(DType::BF16).unwrap())).collect();
    save_file(&dir.path().join(WEIGHTS_FILE), &bf16, HashMap::from([("format".into(), "pt".into())])).unwrap();
    let loaded = load_pretrained(dir.path(), &Device::Cpu).unwrap();
    let w = &loaded.model.base_tensors().unwrap()["model.layers.0.self_attn.q_proj.weight"];
    assert_eq!(w.dtype(), DType::F32);
    let expected = bf16["model.layers.0.self_attn.q_proj.weight"].to_dtype(DType::F32).unwrap();
    assert_eq!(max_abs_diff(w, &expected), 0.0);
}

#[test]
fn missing_tensor_is_named() {
    let model = tiny_model(true, 33);
    let dir = tempfile::tempdir().unwrap();
    save_pretrained(dir.path(), &model, None, None, &SaveOptions::default()).unwrap();
    let mut weights = model.base_tensors().unwrap();
    weights.remove("model.layers.1.mlp.up_proj.weight");
    save_file(&dir.path().join(WEIGHTS_FILE), &weights, HashMap::new()).unwrap();
    let err = load_pretrained(dir.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("model.layers.1.mlp.up_proj.weight"), "{err}");
}

#[test]
fn tokenizer_is_saved_with_the_model_and_stop_strings_cut_generation() {
    let corpus: Vec<String> =
        (0..300).map(|i| format!("<|im_start|>user\nbook flight F{i} for user U{}<|im_end|>\n", i % 17)).collect();
    let tk =
        Tokenizer::train(&corpus, &TokenizerTrainConfig { vocab_size: 320, min_frequency: 1, ..Default::default() })
            .unwrap();
    let mut config = tiny_config(true);
    config.vocab_size = tk.vocab_size();
    let model = random_model(config, 34, InitStyle::AllRandom, &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    save_pretrained(dir.path(), &model, Some(&tk), None, &SaveOptions::default()).unwrap();
    let loaded = load_pretrained(dir.path(), &Device::Cpu).unwrap();
    let tk2 = loaded.tokenizer.unwrap();
    let prompt = tk2.encode("<|im_start|>user\nbook flight").unwrap();
    assert_eq!(prompt, tk.encode("<|im_start|>user\nbook flight").unwrap());

    let greedy = GenerationConfig {
        sampling: SamplingConfig::greedy(),
        stop_strings: vec![],
        eos_token_ids: vec![],
        pad_token_id: 0,
    };
    let request = GenerationRequest { prompt, max_new_tokens: 16, seed: 0 };
    let free = generate(&model, std::slice::from_ref(&request), &greedy, Some(&tk)).unwrap();
    let stop = tk.decode(&free[0].tokens[5..7]).unwrap();
    assert!(!stop.is_empty());
    let cfg = GenerationConfig { stop_strings: vec![stop.clone()], ..greedy };
    let cut = generate(&model, &[request], &cfg, Some(&tk)).unwrap();
    assert_eq!(cut[0].finish_reason, FinishReason::Stop);
    assert!(cut[0].tokens.len() <= 7);
    let text = cut[0].text.clone().unwrap();
    assert!(text.ends_with(&stop), "{text:?} should end with {stop:?}");
    assert_eq!(cut[0].tokens, free[0].tokens[..cut[0].tokens.len()]);
}
