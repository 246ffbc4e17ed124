#!/usr/bin/env bash
# Regenerate every PNG in gallery/ from the exact `lrviz plot` commands shown in gallery/README.md.
#
#   bash gallery/make_gallery.sh        (from the repository root, with lrviz installed)
#
# Each image is made by one `lrviz plot ...` line below, written on a single line and run from the
# repository root; tests/test_gallery.py reads these lines, runs each one, and checks that README.md
# shows the same commands, so keep one command per line and every -o inside gallery/.
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg
command -v lrviz >/dev/null || { echo "make_gallery.sh: lrviz is not on PATH (pip install -e .)" >&2; exit 3; }

# Echo each command to stderr; the tables lrviz prints go to /dev/null.
PS4='+ '
exec 3>&1 >/dev/null
set -x

lrviz plot --lr 2e-4 --min-lr 2e-5 --compare cosine -o gallery/min_lr_vs_cosine.png
lrviz plot --config gallery/configs/warmup_cosine_with_min_lr.yaml --config gallery/configs/warmup_cosine_warmup_with_min_lr.yaml --config gallery/configs/warmup_lr_rate_0.25.yaml --lr 2e-4 --min-lr 2e-5 --steps 100 --warmup-steps 10 -o gallery/warmup_variants.png
lrviz plot --config gallery/configs/llamafactory_lora_sft.yaml --dataset-size 1000 -o gallery/llamafactory_lora_sft.png
lrviz plot --scheduler warmup_stable_decay --scheduler-kwargs '{"num_decay_steps": 200, "min_lr_ratio": 0.01}' -o gallery/warmup_stable_decay.png
lrviz plot --lr 2e-4 --min-lr 2e-6 --compare cosine --log -o gallery/log_scale_floor.png
lrviz plot --scheduler cosine_with_restarts --num-cycles 20 --steps 10**9 -o gallery/billion_updates_restarts.png
lrviz plot --lr 2e-4 --min-lr 2e-6 --steps 1000 --warmup-ratio 0.03 --compare-frameworks hf,deepspeed,torch,timm,axolotl,megatron,nemo -o gallery/compare_frameworks.png
lrviz plot --config gallery/configs/llamafactory_full_sft_ds3.yaml --dataset-size 2000 -o gallery/deepspeed_replaces_cosine.png

{ set +x; } 2>/dev/null
exec 1>&3 3>&-
ls -l gallery/*.png
