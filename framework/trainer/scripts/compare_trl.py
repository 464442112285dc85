"""One GRPO step of TRL's GRPOTrainer on the model and prompts `retain bench grpo-step --export` wrote, timed the
same way (the second of two steps, after a warm-up), and compared with retain's JSON. Prints one JSON report."""

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, TrainerCallback
from trl import GRPOConfig, GRPOTrainer


class StepTimer(TrainerCallback):
    """Wall time of every optimiser step (generation, loss, backward, AdamW)."""

    def __init__(self):
        self.times = []
        self._start = None

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--export", type=Path, required=True)
    parser.add_argument("--retain", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    retain = json.loads(args.retain.read_text())
    prompts = json.loads((args.export / "prompts.json").read_text())
    model_dir = args.export / "model"
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(model_dir / "tokenizer.json"), eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    samples = retain["samples_per_prompt"]
    new_tokens = retain["new_tokens"]
    # Two steps over the same prompts: the first warms up, the second is timed.
    dataset = Dataset.from_list([{"prompt": p} for p in prompts * 2])

    def alternating_reward(completions, **kwargs):
        return [float(i % 2) for i in range(len(completions))]

    with tempfile.TemporaryDirectory() as out:
        config = GRPOConfig(
            output_dir=out,
            per_device_train_batch_size=len(prompts) * samples,
            num_generations=samples,
            max_completion_length=new_tokens,
            generation_kwargs={"min_new_tokens": new_tokens},
            temperature=1.0,
            beta=0.1,
            learning_rate=1e-5,
            max_steps=2,
            logging_steps=1,
            report_to=[],
            save_strategy="no",
            use_cpu=True,
            bf16=False,
            disable_dropout=True,
            gradient_checkpointing=False,
            dataloader_num_workers=0,
            shuffle_dataset=False,
        )
        timer = StepTimer()
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=alternating_reward,
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            callbacks=[timer],
        )
        trainer.train()
    trl_step = timer.times[-1]
    print(
        json.dumps(
            {
                "shapes": {
                    "prompts": len(prompts),
                    "samples_per_prompt": samples,
                    "new_tokens": new_tokens,
                    "prompt_tokens_mean": retain["prompt_tokens_mean"],
                },
                "threads": args.threads,
                "retain_step_seconds": retain["step_seconds"],
                "retain_generate_seconds": retain["generate_seconds"],
                "retain_update_seconds": retain["update_seconds"],
                "trl_step_seconds": trl_step,
                "trl_step_seconds_all": timer.times,
                "speedup_retain_over_trl": trl_step / retain["step_seconds"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
