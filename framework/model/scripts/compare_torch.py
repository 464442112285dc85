#!/usr/bin/env python3
"""Side-by-side throughput of retain's model against PyTorch + transformers on the same Qwen2 shapes.

Runs, with the same thread count:
  * sampling: HF `generate` (KV cache, do_sample, T=1, no top-k/top-p, EOS disabled) on batch B x P-token prompts,
    N new tokens, versus retain's `bench generate` figure;
  * training: PyTorch eager forward + backward + clip + AdamW on batch B x S tokens, versus retain's `bench train`;
  * compatibility: a model directory saved by retain loads in transformers and gives the same logits (and its
    tokenizer.json gives the same ids).
Prints one JSON object with both figures and the ratios (retain / torch).
"""

import argparse
import json
import sys
import time


def tiny_config(transformers, vocab_size):
    # The same shapes as retain's Qwen2Config::tiny().
    return transformers.Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=256,
        intermediate_size=1024,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        use_sliding_window=False,
    )


def bench_generate(torch, transformers, batch, prompt, new, seed):
    torch.manual_seed(seed)
    model = transformers.Qwen2ForCausalLM(tiny_config(transformers, 4096)).eval()
    ids = torch.randint(3, 4096, (batch, prompt))
    mask = torch.ones_like(ids)
    kwargs = dict(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, pad_token_id=0, eos_token_id=None)
    with torch.no_grad():
        model.generate(ids[:, :8], attention_mask=mask[:, :8], max_new_tokens=2, min_new_tokens=2, **kwargs)
        start = time.perf_counter()
        out = model.generate(ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new, **kwargs)
        seconds = time.perf_counter() - start
    generated = (out.shape[1] - prompt) * batch
    return {"seconds": seconds, "tokens_per_second": generated / seconds, "generated_tokens": generated}


def bench_train(torch, transformers, batch, seq, steps, seed):
    torch.manual_seed(seed)
    model = transformers.Qwen2ForCausalLM(tiny_config(transformers, 4096)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    ids = torch.randint(3, 4096, (batch, seq))
    times = []
    losses = []
    for step in range(steps + 1):
        start = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step > 0:
            times.append(time.perf_counter() - start)
            losses.append(loss.item())
    per_step = sum(times) / len(times)
    return {"seconds_per_step": per_step, "tokens_per_second": batch * seq / per_step, "losses": losses}


def check_saved_model(torch, transformers, model_dir):
    with open(f"{model_dir}/reference.json") as f:
        ref = json.load(f)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = torch.tensor([ref["ids"]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
    expected = torch.tensor(ref["logits"])
    diff = float((logits - expected).abs().max())
    tok = transformers.PreTrainedTokenizerFast(tokenizer_file=f"{model_dir}/tokenizer.json")
    tok_ids = tok(ref["text"], add_special_tokens=False)["input_ids"]
    return {
        "loaded": True,
        "max_abs_logit_diff": diff,
        "logits_equal_1e-4": diff < 1e-4,
        "tokenizer_ids_equal": tok_ids == ref["ids"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--prompt", type=int, default=128)
    p.add_argument("--new", type=int, default=128)
    p.add_argument("--train-batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--retain-generate", help="JSON printed by `model_bench generate` (or `retain bench generate`)")
    p.add_argument("--retain-train", help="JSON printed by `model_bench train` (or `retain bench train`)")
    p.add_argument("--saved-model", help="directory written by `model_bench export`")
    p.add_argument("--skip", action="append", default=[], choices=["generate", "train", "check"])
    args = p.parse_args()

    import torch
    import transformers

    torch.set_num_threads(args.threads)
    report = {"threads": args.threads, "torch": torch.__version__, "transformers": transformers.__version__}
    if "generate" not in args.skip:
        g = bench_generate(torch, transformers, args.batch, args.prompt, args.new, args.seed)
        report["generate"] = {"torch": g}
        if args.retain_generate:
            with open(args.retain_generate) as f:
                r = json.load(f)
            report["generate"]["retain"] = r
            report["generate"]["ratio_retain_over_torch"] = r["tokens_per_second"] / g["tokens_per_second"]
    if "train" not in args.skip:
        t = bench_train(torch, transformers, args.train_batch, args.seq, args.steps, args.seed)
        report["train"] = {"torch": t}
        if args.retain_train:
            with open(args.retain_train) as f:
                r = json.load(f)
            report["train"]["retain"] = r
            report["train"]["ratio_retain_over_torch"] = r["tokens_per_second"] / t["tokens_per_second"]
    if "check" not in args.skip and args.saved_model:
        report["saved_model_check"] = check_saved_model(torch, transformers, args.saved_model)
    print(json.dumps(report, indent=2))
    check = report.get("saved_model_check")
    if check and not (check["logits_equal_1e-4"] and check["tokenizer_ids_equal"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
