#!/bin/bash
# What an SSL start should carry over, on the 2-core CPU (2026-11-23). Usage:
#   bench-results/sweeps/transfer-cpu/run.sh isbi2012 1,2 "0 1 2 3"
#   bench-results/sweeps/transfer-cpu/run.sh dsb2018 1,4 "0 1"
# Per draw: masked pretraining once (saved), then fine-tuning from it with the decoder
# transferred (masked, the default), encoder only (maskedenc), encoder at 0.1x lr (masklr01);
# scratch on the same draw. .benchdata/ holds copies of ../shared/data/{dsb2018,isbi2012}
# (--data ../shared/data/... reads the same images).
set -euo pipefail
D=$1; L=$2; SEEDS=$3
OUT=$(dirname "$0"); ENC=$(mktemp -d)
for S in $SEEDS; do
  common=(--data ".benchdata/$D" --labels "$L" --baselines "" --pretrain-steps 1000
          --finetune-steps 750 --seed "$S")
  python -m models.bench "${common[@]}" --methods masked --save-pretrained "$ENC/$S.pt" \
      --out "$OUT/${D}_masked_$S.json"
  python -m models.bench "${common[@]}" --methods masked --transfer encoder \
      --pretrained "$ENC/$S.pt" --out "$OUT/${D}_maskedenc_$S.json"
  if [ "$D" = isbi2012 ]; then
    python -m models.bench "${common[@]}" --methods masked --encoder-lr-scale 0.1 \
        --pretrained "$ENC/$S.pt" --out "$OUT/${D}_masklr01_$S.json"
    python -m models.bench "${common[@]}" --methods scratch --out "$OUT/${D}_scratch_$S.json"
  fi
done
