#!/usr/bin/env bash
# Variants of the label-efficiency benchmark side by side on the lent GPU machine: one process
# per (dataset, variant, method), each with a time limit, then one merge per (dataset, variant).
# No baselines here: they do not depend on the variant and are taken from the main run.
#
# Usage: bench-results/device_variants.sh OUTDIR PRETRAIN_STEPS FINETUNE_STEPS LIMIT_S SPEC...
#   SPEC: dataset:variant:method1+method2:flags, flags with '+' for spaces, e.g.
#   dsb2018:rgb-last:scratch+masked:--channels+3+--schedule+cosine+--keep+last
set -u
out=$1 pt=$2 ft=$3 limit=$4
shift 4
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
mkdir -p "$out"
work=/tmp/variants && rm -rf "$work" && mkdir -p "$work"
for spec in "$@"; do
  IFS=: read -r data variant methods flags <<<"$spec"
  for m in ${methods//+/ }; do
    (
      # shellcheck disable=SC2086  # flags are a list
      timeout "$limit" python3 -m models.bench --data ".benchdata/$data" --labels 1,2,4,8,16 \
        --methods "$m" --baselines "" --jobs 1 --pretrain-steps "$pt" --finetune-steps "$ft" \
        --seed 0 --polarity auto ${flags//+/ } --out "$work/$data-$variant-$m.json" \
        >"$work/$data-$variant-$m.log" 2>&1
      echo "$data $variant $m exit $?" >>"$work/exits.log"
    ) &
  done
done
wait
cat "$work/exits.log"
for spec in "$@"; do
  IFS=: read -r data variant methods flags <<<"$spec"
  parts=()
  for m in ${methods//+/ }; do
    [ -s "$work/$data-$variant-$m.json" ] && parts+=("$work/$data-$variant-$m.json")
  done
  if [ "${#parts[@]}" -gt 1 ]; then
    python3 -m models.bench --merge "${parts[@]}" --out "$out/$data-$variant.json" >/dev/null
  elif [ "${#parts[@]}" -eq 1 ]; then
    cp "${parts[0]}" "$out/$data-$variant.json"
  fi
done
tar czf "$out/variants-parts.tgz" -C "$work" .
