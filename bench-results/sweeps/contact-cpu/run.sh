#!/usr/bin/env bash
# dsb2018 on the 2-core CPU, seed 0 (the main CPU table's draw and budgets): the default recipe,
# then the same with --contact-weight 5. Usage: bash bench-results/sweeps/contact-cpu/run.sh
set -euo pipefail
out=bench-results/sweeps/contact-cpu
common=(--data .benchdata/dsb2018 --labels 1,2,4,8,16 --methods scratch,masked --baselines otsu
        --pretrain-steps 1000 --finetune-steps 750 --device cpu --seed 0)
python -m models.bench "${common[@]}" --out "$out/dsb2018.json" > "$out/dsb2018.log" 2>&1
python -m models.bench "${common[@]}" --contact-weight 5 --out "$out/dsb2018-contact5.json" \
    > "$out/dsb2018-contact5.log" 2>&1
