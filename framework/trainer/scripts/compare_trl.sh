#!/usr/bin/env bash
# One GRPO step in retain and in TRL's GRPOTrainer on the same shapes: the same untrained tiny model (exported by
# retain in the Hugging Face layout), the same 8 prompts × 4 samples × 128 new tokens, the same thread count.
# Prints one JSON report with both step times and their ratio (TRL / retain; > 1 means retain is faster).
#
#   framework/trainer/scripts/compare_trl.sh [THREADS] [POLICY]     (defaults: 2, compact)
#
# Installs on demand into <repo>/.venv from PyPI: torch, transformers, trl, datasets (see compare_torch.sh for why
# torch's default wheel is used).
set -euo pipefail
THREADS="${1:-2}"
POLICY="${2:-compact}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="$ROOT/.venv"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=../../../scripts/python_venv.sh
source "$ROOT/scripts/python_venv.sh"
ensure_venv "$ROOT" "torch, transformers, trl, datasets" torch transformers trl datasets

(cd "$ROOT" && cargo build --quiet --release -p retain)
RAYON_NUM_THREADS="$THREADS" CANDLE_NUM_THREADS="$THREADS" "$TARGET/release/retain" bench grpo-step \
    --threads "$THREADS" --policy "$POLICY" --export "$WORK" >"$WORK/retain.json"
"$VENV/bin/python" "$HERE/compare_trl.py" --threads "$THREADS" --export "$WORK" --retain "$WORK/retain.json"
