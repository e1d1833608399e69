#!/usr/bin/env bash
# dsb2018 test split on the 2-core CPU, seed 0 (the main CPU table's draw and budgets), K = 4, 8
# and 16: the default instance target, then --instance-target core, one after the other.
# Usage: bash bench-results/sweeps/core-cpu/run.sh
set -euo pipefail
out=bench-results/sweeps/core-cpu
common=(--data .benchdata/dsb2018 --labels 4,8,16 --methods scratch,masked --baselines ''
        --pretrain-steps 1000 --finetune-steps 750 --device cpu --seed 0)
python -m models.bench "${common[@]}" --out "$out/dsb2018.json" > "$out/dsb2018.log" 2>&1
python -m models.bench "${common[@]}" --instance-target core --out "$out/dsb2018-core.json" \
    > "$out/dsb2018-core.log" 2>&1
