#!/bin/bash
# isbi2012, draws 1-3, K=1,2: scratch and masked, each scored calibrated and uncalibrated
# (twin rows from the same model). Run from the repository root.
set -e
for s in 1 2 3; do
  .venv/bin/python -m models.bench --data .benchdata/isbi2012 --labels 1,2 --methods scratch,masked \
    --baselines '' --pretrain-steps 1000 --finetune-steps 750 --device cpu --seed $s \
    --out bench-results/sweeps/calibration/isbi-seed$s.json > bench-results/sweeps/calibration/isbi-seed$s.log 2>&1
done
