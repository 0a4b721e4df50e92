#!/usr/bin/env bash
# Create .venv with every dependency of beitmm. Idempotent: a second run only checks.
# mmcv 2.1.0 (the last release mmseg 1.2.2 accepts) has no wheel for torch 2.14: it is built once
# from the sdist with -std=c++20 and cached in $BEITMM_WHEEL_CACHE (outside the repo, keyed by the
# torch and Python versions, since pip's own wheel cache does not key on torch).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
CACHE=${BEITMM_WHEEL_CACHE:-$HOME/.cache/beitmm/wheels}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install -r requirements/build.txt
"${PIP[@]}" install -r requirements/runtime.txt -r requirements/tests.txt -r requirements/optional.txt \
  -r requirements/lint.txt -r requirements/multimodal.txt -r requirements/seq2seq.txt -r requirements/he.txt \
  -r requirements/docs.txt -r requirements/detection.txt -r requirements/deploy.txt
"${PIP[@]}" install --no-deps -r requirements/reference.txt -r requirements/captioning.txt \
  -r requirements/webdemo.txt -r requirements/realdata.txt

if ! "$PY" -c "import mmcv, mmcv.ops" >/dev/null 2>&1; then
  TORCH=$("$PY" -c "import torch; print(torch.__version__.split('+')[0])")
  PYV=$("$PY" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
  KEY="$CACHE/mmcv-2.1.0-torch$TORCH-$PYV-$(uname -m)"
  mkdir -p "$KEY"
  WHEEL=$(ls "$KEY"/mmcv-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$WHEEL" ]; then
    echo "[setup_env] building mmcv 2.1.0 against torch $TORCH (once; ~12 min on 2 cores)"
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    "${PIP[@]}" download mmcv==2.1.0 --no-deps --no-binary :all: --no-build-isolation -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-2.1.0.tar.gz -C "$BUILD"
    # torch >= 2.10 headers need C++20.
    sed -i 's/-std=c++17/-std=c++20/g' "$BUILD"/mmcv-2.1.0/setup.py
    (cd "$BUILD/mmcv-2.1.0" && MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "$OLDPWD/$PY" -m pip --disable-pip-version-check -q wheel --no-build-isolation --no-deps -w "$BUILD/dist" .)
    BUILT=$(ls "$BUILD"/dist/mmcv-*.whl)
    # Atomic publish: a killed build never leaves a half-written wheel in the cache.
    cp "$BUILT" "$KEY/.tmp-$(basename "$BUILT")"
    mv "$KEY/.tmp-$(basename "$BUILT")" "$KEY/$(basename "$BUILT")"
    WHEEL="$KEY/$(basename "$BUILT")"
  fi
  "${PIP[@]}" install --no-deps "$WHEEL"
fi
"${PIP[@]}" install --no-deps --no-build-isolation -e .

# transformers 5 cannot share the venv with transformers 4 (requirements/tests.txt): huggingface_hub >= 1.31 vs
# < 1.0. It goes with its own dependencies into $VENV/hf5, which the HF checkpoint tests put on the PYTHONPATH of a
# subprocess; constrained to the venv's pins, so the packages both trees hold are the same versions. Reinstalled
# only when a requirements file it depends on changes (key in $HF5/.beitmm-hf5); built aside, then moved in place.
HF5="$VENV/hf5"
HF5_KEY=$(cat requirements/hf5.txt requirements/runtime.txt requirements/optional.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$HF5/.beitmm-hf5" 2>/dev/null || true)" != "$HF5_KEY" ]; then
  echo "[setup_env] installing transformers 5 into $HF5"
  rm -rf "$HF5.tmp"
  "${PIP[@]}" install --target "$HF5.tmp" -r requirements/hf5.txt -c requirements/runtime.txt \
    -c requirements/optional.txt
  PYTHONPATH="$HF5.tmp" "$PY" -c "import transformers as t; assert t.__version__.startswith('5.'), t.__version__"
  echo "$HF5_KEY" > "$HF5.tmp/.beitmm-hf5"
  rm -rf "$HF5"
  mv "$HF5.tmp" "$HF5"
fi
"$PY" -c "import beitmm, mmcv.ops, mmseg.models, mmpretrain.models, mmdet.models; print('[setup_env] ok: torch', __import__('torch').__version__, 'mmcv', mmcv.__version__)"
