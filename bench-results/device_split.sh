#!/usr/bin/env bash
# The label-efficiency benchmark split by K on the lent GPU machine, for budgets too long for
# one process per method within a 10-minute call. Phase 1: every scratch K and, per pretext,
# one process that pretrains, saves the encoder and fine-tunes K=1. Phase 2: each other K of
# each pretext loads that encoder. One merge per dataset. Baselines come from the main run.
#
# Usage: bench-results/device_split.sh OUTDIR PRETRAIN_STEPS FINETUNE_STEPS LIMIT_S SPEC...
#   SPEC: dataset:method1+method2+... (scratch and pretexts), e.g. dsb2018:scratch+masked
#   FLAGS (environment): more python -m models.bench flags for every process
set -u
out=$1 pt=$2 ft=$3 limit=$4
shift 4
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
mkdir -p "$out"
work=/tmp/split && rm -rf "$work" && mkdir -p "$work"
t0=$(date +%s)

one() { # dataset method K extra...
  local data=$1 m=$2 k=$3
  shift 3
  # shellcheck disable=SC2086  # FLAGS is a list
  timeout "$limit" python3 -m models.bench --data ".benchdata/$data" --labels "$k" \
    --methods "$m" --baselines "" --jobs 1 --pretrain-steps "$pt" --finetune-steps "$ft" \
    --seed 0 ${FLAGS:-} "$@" --out "$work/$data-$m-$k.json" >"$work/$data-$m-$k.log" 2>&1
  echo "$data $m K=$k exit $? at $(($(date +%s) - t0)) s" >>"$work/exits.log"
}

for spec in "$@"; do
  data=${spec%%:*} methods=${spec#*:}
  for m in ${methods//+/ }; do
    if [ "$m" = scratch ]; then
      for k in 1 2 4 8 16; do one "$data" "$m" "$k" & done
    else
      (
        one "$data" "$m" 1 --save-pretrained "$work/$data-$m.pt"
        for k in 2 4 8 16; do
          [ -s "$work/$data-$m.pt" ] && one "$data" "$m" "$k" --pretrained "$work/$data-$m.pt" &
        done
        wait
      ) &
    fi
  done
done
wait
cat "$work/exits.log"
for spec in "$@"; do
  data=${spec%%:*}
  parts=()
  # The K=16 parts go first (the merge keeps the first part's config), each part once.
  for f in "$work/$data"-*-16.json "$work/$data"-*.json; do
    [ -s "$f" ] && [[ " ${parts[*]} " != *" $f "* ]] && parts+=("$f")
  done
  python3 -m models.bench --merge "${parts[@]}" --out "$out/$data.json" >/dev/null
done
rm -f "$work"/*.pt
tar czf "$out/split-parts.tgz" -C "$work" .
