#!/usr/bin/env bash
# lrviz verify on a real NVIDIA GPU: the single-process run and a 2-process torchrun (both ranks share the GPU
# when there is only one), plus the LR-recording overhead benchmark. Not run by CI or the tests; it is the
# prepared script for a session that has a GPU machine.
#
#   bash gallery/verify_gpu.sh        (from the repository root; needs torch with CUDA, transformers, numpy,
#                                      matplotlib, click, rich, PyYAML; runs lrviz from the source tree)
#
# Writes into gallery/: verify_cuda.json + verify_cuda.png (cosine_with_min_lr), verify_cuda_wsd.json,
# verify_cuda_warmup_min_lr.json, verify_cuda_ddp2.json + verify_cuda_ddp2.png, verify_cuda_overhead.txt,
# verify_cuda_env.txt, and for the real Trainer: verify_cuda_trainer_lf.json (lrviz verify --config on an
# LLaMA-Factory-style YAML, Trainer.train() in bf16 on the GPU), verify_cuda_trl_dpo.json (a TRL DPO YAML through
# trl.DPOTrainer.train() in bf16), guard_cuda_lf.json (a bf16 Trainer run with
# lrviz.integrations.LrGuard, its lrviz_guard.json), guard_cuda_bench.txt (bench/bench_guard.py on cuda), and with
# two or more GPUs verify_cuda_trainer_ddp2.json (torchrun, NCCL). Every JSON report carries the device name, CUDA
# capability and torch version. Nothing here was run in a session without a GPU: no result is committed until it is.
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

# The real Trainer on the GPU in bf16, with an LLaMA-Factory-style config (LoRA keys stay with LLaMA-Factory).
work=$(mktemp -d)
cat > "$work/lf_sft_bf16.yaml" <<'YAML'
stage: sft
do_train: true
finetuning_type: lora
lora_target: all
dataset: alpaca_en_demo
template: llama3
cutoff_len: 1024
output_dir: saves/llama3-8b/lora/sft
per_device_train_batch_size: 4
gradient_accumulation_steps: 4
learning_rate: 1.0e-4
num_train_epochs: 3.0
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
warmup_steps: 0.1
bf16: true
YAML
run "cuda bf16, real Trainer, LLaMA-Factory YAML" bash -c "python -m lrviz verify --device cuda --dtype bf16 --config $work/lf_sft_bf16.yaml --dataset-size 4000 --full --require-framework --json > gallery/verify_cuda_trainer_lf.json"
# TRL's own DPOTrainer in bf16 (needs trl and datasets; without them this run exits 3 and says so).
cat > "$work/trl_dpo.yaml" <<'YAML'
model_name_or_path: my-org/my-sft-model
beta: 0.1
loss_type: sigmoid
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
warmup_steps: 0.1
per_device_train_batch_size: 4
gradient_accumulation_steps: 4
bf16: true
YAML
run "cuda bf16, TRL DPOTrainer" bash -c "python -m lrviz verify --device cuda --dtype bf16 --config $work/trl_dpo.yaml --dataset-size 1600 --full --require-framework --json > gallery/verify_cuda_trl_dpo.json"
if [ "$(nvidia-smi -L 2>/dev/null | wc -l)" -ge 2 ]; then
    run "cuda, real Trainer, torchrun 2 ranks (NCCL)" bash -c "python -m torch.distributed.run --nproc_per_node 2 --master_port 29518 -m lrviz verify --device cuda --dtype bf16 --config $work/lf_sft_bf16.yaml --dataset-size 4000 --json > gallery/verify_cuda_trainer_ddp2.json"
fi
# A bf16 Trainer run on the GPU with the guard told the YAML the run should follow.
run "cuda bf16 Trainer with LrGuard" python - "$work/lf_sft_bf16.yaml" <<'EOF_GUARD'
import json, shutil, sys, tempfile
import transformers
from lrviz.integrations import LrGuard
from lrviz.verify.trainer import SyntheticSet, tiny_causal_lm
config = sys.argv[1]
with tempfile.TemporaryDirectory() as out:
    args = transformers.TrainingArguments(output_dir=out, bf16=True, learning_rate=1e-4, lr_scheduler_type="cosine_with_min_lr",
                                          lr_scheduler_kwargs={"min_lr_rate": 0.1}, warmup_steps=0.1, num_train_epochs=3,
                                          per_device_train_batch_size=4, gradient_accumulation_steps=4, save_strategy="no",
                                          report_to=[], logging_steps=10**9, disable_tqdm=True)
    model, _ = tiny_causal_lm(0)
    guard = LrGuard(config)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=SyntheticSet(4000, 32, 0), callbacks=[guard])
    trainer.train()
    report = json.load(open(f"{out}/lrviz_guard.json"))
    import torch
    report["device"] = {"name": torch.cuda.get_device_name(0), "capability": list(torch.cuda.get_device_capability(0)),
                        "torch": torch.__version__, "bf16": True, "trainer_updates": trainer.state.global_step}
    json.dump(report, open("gallery/guard_cuda_lf.json", "w"), indent=1)
    print("guard ok:", report["ok"], "updates checked:", report["updates_checked"], file=sys.stderr)
    sys.exit(0 if report["ok"] else 1)
EOF_GUARD
run "guard cost on cuda" bash -c 'python bench/bench_guard.py --device cuda > gallery/guard_cuda_bench.txt'
rm -rf "$work"

python - <<'EOF' >&2
import json
for name in ("verify_cuda", "verify_cuda_wsd", "verify_cuda_warmup_min_lr", "verify_cuda_ddp2", "verify_cuda_trainer_lf",
             "verify_cuda_trainer_ddp2"):
    try:
        with open(f"gallery/{name}.json") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"{name}: no report ({error})")
        continue
    device, speed = report["device"], report["speed"]
    worst = max(g["max_rel_error"] or 0 for g in report["lr_check"]["groups"])
    print(f"{name}: {report.get('verdict', '')}")
    print(f"{name}: passed={report['passed']} on {device['name']} (capability {device['cuda_capability']}, "
          f"{device['dtype']}), max rel error {worst:.1e}, {speed['updates_per_second']:.0f} updates/s, "
          f"run {speed['wall_seconds']:.1f} s, problems {report['problems']}")
EOF
exit "$status"
