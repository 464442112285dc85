//! Prints the model benches as JSON and exports a reference model for `scripts/compare_torch.py`.
//!
//! ```text
//! model_bench generate [--threads N] [--batch B] [--prompt P] [--new N] [--repeats R]
//! model_bench train    [--threads N] [--batch B] [--seq S] [--steps K]
//! model_bench export DIR     # tiny model + tokenizer in HF layout, and DIR/reference.json with its logits
//! ```

use std::path::Path;
use std::process::ExitCode;

use candle_core::{Device, Tensor};
use retain_model::bench::{GenerateBenchConfig, TrainBenchConfig, bench_generate, bench_train};
use retain_model::mask::SlotValidity;
use retain_model::qwen2::ForwardInput;
use retain_model::{InitStyle, Mode, Tokenizer, TokenizerTrainConfig, random_model, save_pretrained};

fn flag(args: &[String], name: &str) -> Result<Option<usize>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("`{name}` needs a positive integer")),
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let err = |e: retain_model::ModelError| e.to_string();
    match args.first().map(String::as_str) {
        Some("generate") => {
            let mut c = GenerateBenchConfig { threads: flag(args, "--threads")?, ..Default::default() };
            c.batch = flag(args, "--batch")?.unwrap_or(c.batch);
            c.prompt_tokens = flag(args, "--prompt")?.unwrap_or(c.prompt_tokens);
            c.new_tokens = flag(args, "--new")?.unwrap_or(c.new_tokens);
            c.repeats = flag(args, "--repeats")?.unwrap_or(c.repeats);
            Ok(json(&bench_generate(&c).map_err(err)?))
        }
        Some("train") => {
            let mut c = TrainBenchConfig { threads: flag(args, "--threads")?, ..Default::default() };
            c.batch = flag(args, "--batch")?.unwrap_or(c.batch);
            c.seq_len = flag(args, "--seq")?.unwrap_or(c.seq_len);
            c.steps = flag(args, "--steps")?.unwrap_or(c.steps);
            Ok(json(&bench_train(&c).map_err(err)?))
        }
        Some("export") => {
            let dir = args.get(1).ok_or("export needs a directory")?;
            export(Path::new(dir)).map_err(err)
        }
        _ => Err("usage: model_bench generate|train|export …".to_string()),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn export(dir: &Path) -> retain_model::Result<String> {
    let corpus: Vec<String> = (0..400)
        .map(|i| format!("<|im_start|>user\nPlease cancel reservation R{i:03} for user U{}.<|im_end|>\n", i % 23))
        .collect();
    let tk =
        Tokenizer::train(&corpus, &TokenizerTrainConfig { vocab_size: 512, min_frequency: 1, ..Default::default() })?;
    let mut config = retain_model::Qwen2Config::tiny();
    config.vocab_size = tk.vocab_size();
    config.num_hidden_layers = 2;
    let model = random_model(config, 7, InitStyle::AllRandom, &Device::Cpu)?;
    save_pretrained(dir, &model, Some(&tk), None, &Default::default())?;
    let text = "<|im_start|>user\nPlease cancel reservation R042 for user U7.<|im_end|>";
    let ids = tk.encode(text)?;
    let dev = Device::Cpu;
    let v = SlotValidity::new(vec![vec![true; ids.len()]])?;
    let input = ForwardInput {
        ids: Tensor::from_slice(&ids, (1, ids.len()), &dev)?,
        positions: v.positions(0, &dev)?,
        mask: v.mask(0, &dev)?,
    };
    let hidden = model.forward_hidden(&input, None, Mode::Infer)?;
    let logits = model.logits(&hidden, Mode::Infer)?.squeeze(0)?.to_vec2::<f32>()?;
    let reference = serde_json::json!({ "text": text, "ids": ids, "logits": logits });
    retain_model::weights::write_json(&dir.join("reference.json"), &reference)?;
    Ok(serde_json::json!({ "exported": dir.display().to_string(), "tokens": ids.len() }).to_string())
}

fn main() -> ExitCode {
    retain_model::tune_allocator_for_tensors();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(Some(n)) = flag(&args, "--threads") {
        // candle sizes its element-wise worker pool from CANDLE_NUM_THREADS (read once) and its GEMM split from
        // RAYON_NUM_THREADS; make both follow `--threads` unless the caller set them.
        for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
            if std::env::var_os(var).is_none() {
                // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
                unsafe { std::env::set_var(var, n.to_string()) };
            }
        }
    }
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
