#!/usr/bin/env bash
# bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py options]
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROCS=$3
shift 3
DIR=$(cd "$(dirname "$0")" && pwd)
# the repository's .venv (made by `make demo` / `make test`) unless PYTHON is set
VENV_PY="$DIR/../.venv/bin/python"
if [ -x "$VENV_PY" ]; then DEFAULT_PY="$VENV_PY"; else DEFAULT_PY=python; fi
PYTHON=${PYTHON:-$DEFAULT_PY}
PYTHONPATH="$DIR/..:${PYTHONPATH:-}" exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --nproc_per_node="$NPROCS" --master_port="${PORT:-29500}" \
  "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
