#!/usr/bin/env bash
# Measures retain's model against PyTorch + transformers on the same Qwen2 shapes and thread count, and checks a
# model saved by retain loads in transformers with equal logits. Prints one JSON report (ratios = retain / torch).
#
#   framework/model/scripts/compare_torch.sh [THREADS]        (default 2)
#
# Installs on demand into <repo>/.venv from PyPI: torch + transformers. Note: torch's Linux x86-64 wheel on PyPI is
# a CUDA build that imports its CUDA libraries at start-up (`import torch` fails with `--no-deps`), so the normal
# install with dependencies is used (~5.6 GB on disk); no GPU is needed or used.
set -euo pipefail
THREADS="${1:-2}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="$ROOT/.venv"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=../../../scripts/python_venv.sh
source "$ROOT/scripts/python_venv.sh"
ensure_venv "$ROOT" "torch, transformers" torch transformers

(cd "$ROOT" && cargo build --quiet --release -p retain-model --example model_bench)
BENCH="$TARGET/release/examples/model_bench"
"$BENCH" export "$WORK/saved" >/dev/null
RAYON_NUM_THREADS="$THREADS" "$BENCH" generate --threads "$THREADS" >"$WORK/generate.json"
RAYON_NUM_THREADS="$THREADS" "$BENCH" train --threads "$THREADS" >"$WORK/train.json"
"$VENV/bin/python" "$HERE/compare_torch.py" --threads "$THREADS" \
    --retain-generate "$WORK/generate.json" --retain-train "$WORK/train.json" --saved-model "$WORK/saved"
