#!/usr/bin/env bash
# The benchmark as run on the lent GPU machine: each dataset split by method into processes that
# run side by side (same seed, so the same K images and test split), then merged.
# Usage: bench-results/device_run.sh OUTDIR LABELS PRETRAIN_STEPS FINETUNE_STEPS LIMIT_SECONDS [LIMIT_TEST]
set -u
out=$1 labels=$2 pt=$3 ft=$4 limit=$5 lt=${6:-}
work=/tmp/bench && mkdir -p "$work" "$out"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
common=(--labels "$labels" --pretrain-steps "$pt" --finetune-steps "$ft" --device auto --seed 0)
[ -n "$lt" ] && common+=(--limit-test "$lt")
dsb=.benchdata/dsb2018 isbi=.benchdata/isbi2012
run() { # name data methods baselines jobs
  timeout "$limit" python3 -m models.bench --data "$2" --methods "$3" --baselines "$4" \
    --jobs "$5" --out "$work/$1.json" "${common[@]}" >"$work/$1.log" 2>&1
  echo "$1 exit $?" >>"$work/exits.log"
}
run dsb_a $dsb scratch,masked "" 2 &
run dsb_b $dsb contrastive,rotation "" 2 &
run dsb_c $dsb denoise,superres "" 2 &
run dsb_base $dsb "" otsu,rf 4 &
run isbi_a $isbi scratch,masked,contrastive otsu,rf 2 &
run isbi_b $isbi rotation,denoise,superres "" 2 &
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv -l 30 >"$work/gpu.log" 2>&1 &
smi=$!
wait %1 %2 %3 %4 %5 %6
kill $smi
for d in dsb isbi; do
  name=$([ $d = dsb ] && echo dsb2018 || echo isbi2012)
  python3 -m models.bench --merge $(ls "$work"/${d}_*.json) --out "$out/$name.json" >"$work/merge_$d.log" 2>&1
done
cat "$work/exits.log" "$work"/merge_*.log
tar czf "$out/parts.tgz" -C "$work" .
