#!/usr/bin/env bash
# Runs naive sequential training, replay and EWC on the same configuration (default: examples/full.toml, the
# embedded default trained long enough to forget) and writes their comparison report.
#
#   examples/compare_strategies.sh [CONFIG] [OUT_DIR]
#
# Each strategy is the same config with `plugins.strategies` overridden, so the runs differ only in the strategy.
# Runs go to runs/compare-<strategy> (replaced if present); the report to OUT_DIR (default runs/compare).
# About 25 minutes on 2 cores with examples/full.toml.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
config="${1:-$root/examples/full.toml}"
out="${2:-$root/runs/compare}"
cd "$root"
if [[ ! -f "$config" ]]; then
    echo "error: no config file at $config (give a run config such as examples/full.toml)" >&2
    exit 2
fi

cargo build --release --workspace
retain="${CARGO_TARGET_DIR:-$root/target}/release/retain"

declare -A strategies=(
    [naive]='[{name="sequential"}]'
    [replay]='[{name="replay", config={ratio=0.25}}]'
    [ewc]='[{name="ewc", config={lambda=1000.0, normalize="mean"}}]'
)
runs=()
for name in naive replay ewc; do
    echo "== $name: ${strategies[$name]}"
    "$retain" run "$config" --overwrite \
        --set "run.name=compare-$name" --set run.out_dir=runs \
        --set "plugins.strategies=${strategies[$name]}"
    runs+=("runs/compare-$name")
done

"$retain" report "${runs[@]}" --out "$out"
