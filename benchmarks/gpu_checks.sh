#!/usr/bin/env bash
# The GPU checks behind benchmarks/results/gpu-<date>.md, in one go on a CUDA machine:
#
#   EASYEDIT_SRC=/path/to/EasyEdit bash benchmarks/gpu_checks.sh [RESULTS_DIR] [bench_gpu.py options]
#
# 1. the card (nvidia-smi) and the library versions;
# 2. tests/gpu: BLUE and PAC on a 1.1B-shaped model split between cuda:0 and the CPU, against the
#    same edit on one device (needs accelerate);
# 3. benchmarks/bench_gpu.py on the Llama-3-8B and GPT-J-6B shapes (EasyEdit's own MEMIT and
#    AlphaEdit too when EASYEDIT_SRC names the 2026 source tree).
# Each step writes its output to RESULTS_DIR (default benchmarks/results) as it goes, so a run cut
# short keeps what it measured. Step time limits: SPLIT_TIMEOUT, BENCH_TIMEOUT (seconds).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=$(realpath -m "${1:-benchmarks/results}")
shift || true
mkdir -p "$RESULTS"
DATE=$(date -u +%F)
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export EASYEDIT_PLUGINS_TEST_THREADS=${EASYEDIT_PLUGINS_TEST_THREADS:-8}
PYTHON=${PYTHON:-python3}

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PYTHON" -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, '| transformers', transformers.__version__)"
} 2>&1 | tee "$RESULTS/gpu-$DATE-device.txt"

timeout "${SPLIT_TIMEOUT:-240}" "$PYTHON" -m pytest tests/gpu -q -s -rA -p no:cacheprovider 2>&1 \
    | tee "$RESULTS/gpu-$DATE-split.txt"

(cd benchmarks && timeout "${BENCH_TIMEOUT:-420}" "$PYTHON" bench_gpu.py --json "$RESULTS/gpu-$DATE.json" \
    --markdown "$RESULTS/gpu-$DATE-bench.md" "$@") > "$RESULTS/gpu-$DATE-bench.log" 2>&1
status=$?
grep -E '^(llama3-8b|gptj-6b)|Error|Traceback' "$RESULTS/gpu-$DATE-bench.log" | tail -40
exit $status
