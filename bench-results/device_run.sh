#!/usr/bin/env bash
# The benchmark as run on the lent GPU machine: one process per method side by side (same seed,
# so the same K images and test split; budgets in steps, so sharing the GPU changes no figure),
# then merged into one result.
# Usage: [SEED=N] bench-results/device_run.sh DATA OUTDIR LABELS PRETRAIN_STEPS FINETUNE_STEPS LIMIT_S [LIMIT_TEST]
set -u
data=$1 out=$2 labels=$3 pt=$4 ft=$5 limit=$6 lt=${7:-}
seed=${SEED:-0}
name=$(basename "$data")$([ "$seed" != 0 ] && echo "-seed$seed")
work=/tmp/bench-$name && rm -rf "$work" && mkdir -p "$work" "$out"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
common=(--data "$data" --labels "$labels" --pretrain-steps "$pt" --finetune-steps "$ft" --seed "$seed")
[ -n "$lt" ] && common+=(--limit-test "$lt")
run() { # part methods baselines jobs
  timeout "$limit" python3 -m models.bench --methods "$2" --baselines "$3" --jobs "$4" \
    --out "$work/$1.json" "${common[@]}" >"$work/$1.log" 2>&1
  echo "$1 exit $?" >>"$work/exits.log"
}
for m in scratch masked contrastive rotation denoise superres; do run "$m" "$m" "" 2 & done
run baselines "" otsu,rf 4 &
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv -l 30 >"$work/gpu.log" 2>&1 &
smi=$!
for j in $(jobs -p); do [ "$j" != "$smi" ] && wait "$j"; done
kill $smi
python3 -m models.bench --merge $(ls "$work"/*.json) --out "$out/$name.json" >"$work/merge.log" 2>&1
cat "$work/exits.log" "$work/merge.log"
tar czf "$out/$name-parts.tgz" -C "$work" .
