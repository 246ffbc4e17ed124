#!/usr/bin/env bash
# lrviz verify on a real NVIDIA GPU: the single-process run and a 2-process torchrun (both ranks share the GPU
# when there is only one), plus the LR-recording overhead benchmark. Not run by CI or the tests; it is the
# prepared script for a session that has a GPU machine.
#
#   bash gallery/verify_gpu.sh        (from the repository root; needs torch with CUDA, transformers, numpy,
#                                      matplotlib, click, rich, PyYAML; runs lrviz from the source tree)
#
# Writes into gallery/: verify_cuda.json + verify_cuda.png (cosine_with_min_lr), verify_cuda_wsd.json,
# verify_cuda_warmup_min_lr.json, verify_cuda_ddp2.json + verify_cuda_ddp2.png, verify_cuda_overhead.txt and
# verify_cuda_env.txt. Every JSON report carries the device name, CUDA capability and torch version.
# Exit status: 0 when every verify run passed, else the first failing run's code (1 mismatch/unhealthy, 3 no CUDA).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg
status=0
run() {  # run "label" command...: echo it, time it, keep the first failure's exit code
    local label=$1; shift
    echo "+ $*" >&2
    local start=$SECONDS
    "$@"
    local code=$?
    echo "  $label: exit $code in $((SECONDS - start)) s" >&2
    if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then status=$code; fi
}

{
    date -u
    nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv 2>&1
    python -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)"
} > gallery/verify_cuda_env.txt

run "cuda, cosine_with_min_lr" bash -c 'python -m lrviz verify --device cuda --json -o gallery/verify_cuda.png > gallery/verify_cuda.json'
run "cuda, warmup_stable_decay" bash -c 'python -m lrviz verify --device cuda --scheduler warmup_stable_decay --scheduler-kwargs "{\"num_decay_steps\": 200, \"min_lr_ratio\": 0.01}" --json > gallery/verify_cuda_wsd.json'
run "cuda, cosine_warmup_with_min_lr" bash -c 'python -m lrviz verify --device cuda --scheduler cosine_warmup_with_min_lr --min-lr-rate 0.05 --json > gallery/verify_cuda_warmup_min_lr.json'
run "cuda, torchrun 2 ranks" bash -c 'python -m torch.distributed.run --nproc_per_node 2 --master_port 29517 -m lrviz verify --device cuda --json -o gallery/verify_cuda_ddp2.png > gallery/verify_cuda_ddp2.json'
run "overhead benchmark" bash -c 'python bench/verify_overhead.py --device cuda > gallery/verify_cuda_overhead.txt'

python - <<'EOF' >&2
import json
for name in ("verify_cuda", "verify_cuda_wsd", "verify_cuda_warmup_min_lr", "verify_cuda_ddp2"):
    try:
        with open(f"gallery/{name}.json") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"{name}: no report ({error})")
        continue
    device, speed = report["device"], report["speed"]
    worst = max(g["max_rel_error"] or 0 for g in report["lr_check"]["groups"])
    print(f"{name}: passed={report['passed']} on {device['name']} (capability {device['cuda_capability']}, "
          f"{device['dtype']}), max rel error {worst:.1e}, {speed['updates_per_second']:.0f} updates/s, "
          f"run {speed['wall_seconds']:.1f} s, problems {report['problems']}")
EOF
exit "$status"
