#!/usr/bin/env bash
# bash tools/dist_train.sh CONFIG NUM_PROCS [train.py options]
# Runs torchrun with NUM_PROCS processes: NCCL on GPUs, gloo on CPU (beitmm.engine.runner picks it).
set -euo pipefail
CONFIG=$1
NPROCS=$2
shift 2
DIR=$(cd "$(dirname "$0")" && pwd)
# the repository's .venv (made by `make demo` / `make test`) unless PYTHON is set
VENV_PY="$DIR/../.venv/bin/python"
if [ -x "$VENV_PY" ]; then DEFAULT_PY="$VENV_PY"; else DEFAULT_PY=python; fi
PYTHON=${PYTHON:-$DEFAULT_PY}
PYTHONPATH="$DIR/..:${PYTHONPATH:-}" exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --nproc_per_node="$NPROCS" --master_port="${PORT:-29500}" \
  "$DIR/train.py" "$CONFIG" --launcher pytorch "$@"
