#!/usr/bin/env bash
# Build the legacy integration-test venv: the only PyPI release of EasyEdit
# (easyeditor==0.0.1.dev0, 2023) on torch 2.14.1 / transformers 4.49.0, every version pinned
# by .ci/legacy-easyedit-constraints.txt, then check that easyeditor imports (offline).
#
# Usage: .ci/legacy_env.sh VENV_DIR        (PYTHON=python3 by default)
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
    echo "usage: $0 VENV_DIR" >&2
    exit 2
fi
VENV=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONSTRAINTS="$HERE/legacy-easyedit-constraints.txt"
PYTHON=${PYTHON:-python3}
[[ -f "$CONSTRAINTS" ]] || { echo "missing $CONSTRAINTS" >&2; exit 2; }

# Refuse to wipe a non-empty directory that is not a venv.
if [[ -d "$VENV" && -n "$(ls -A "$VENV")" && ! -f "$VENV/pyvenv.cfg" ]]; then
    echo "$VENV exists, is not empty and is not a venv; refusing to clear it" >&2
    exit 2
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
START=$SECONDS
step() { printf '[legacy-env %4ds] %s\n' "$((SECONDS - START))" "$*"; }

step "creating venv $VENV with $($PYTHON --version 2>&1)"
"$PYTHON" -m venv --clear "$VENV"
PY="$VENV/bin/python"
# -qq: pip.conf's file:// extra indexes make plain -q print a warning per missing project.
pipi() { "$PY" -m pip install -qq -c "$CONSTRAINTS" "$@"; }

step "pinning pip"
pipi pip

step "installing torch==2.14.1 torchvision==0.29.1 (local CUDA build, ~5.5 GB, runs on CPU)"
pipi torch==2.14.1 torchvision==0.29.1

step "installing transformers==4.49.0"
pipi transformers==4.49.0

step "installing easyeditor's import-time dependencies and test deps"
pipi \
    higher hydra-core omegaconf timm pandas iopath fairscale opencv-python-headless \
    scipy nltk sentence-transformers einops datasets matplotlib openai peft \
    pytest hypothesis pluggy pyyaml tokenizers tqdm numpy safetensors sympy

step "installing easyeditor==0.0.1.dev0 --no-deps"
pipi --no-deps easyeditor==0.0.1.dev0

step "pip check (easyeditor's own stale pins are expected and ignored)"
if ! problems=$("$PY" -m pip check 2>&1); then
    problems=$(grep -v '^easyeditor 0\.0\.1\.dev0 ' <<<"$problems" || true)
    if [[ -n "$problems" ]]; then
        echo "$problems" >&2
        exit 1
    fi
fi

step "import check (offline, sockets blocked, in a scratch cwd)"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
(
    cd "$SCRATCH"
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
        "$PY" -W ignore::FutureWarning - <<'EOF'
import socket

def _no_network(*args, **kwargs):
    raise RuntimeError("network access during import check")

socket.socket.connect = socket.socket.connect_ex = _no_network
socket.getaddrinfo = socket.create_connection = _no_network

import easyeditor
from easyeditor import BaseEditor
from easyeditor.util.alg_dict import ALG_DICT, DS_DICT
from easyeditor.editors.batch_editor import BatchEditor
from easyeditor.util.hparams import HyperParams
from easyeditor.evaluate import compute_edit_quality
import hypothesis, pluggy, pytest, yaml
import numpy, torch, transformers

assert transformers.__version__ == "4.49.0", transformers.__version__
print(f"  easyeditor OK: torch {torch.__version__}, transformers {transformers.__version__}, "
      f"numpy {numpy.__version__}; ALG_DICT={sorted(ALG_DICT)}")
EOF
)
step "done: $VENV ($(du -sh "$VENV" | cut -f1))"
