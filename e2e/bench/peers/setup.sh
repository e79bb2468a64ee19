#!/usr/bin/env bash
# Peers for the serving benchmarks: MLServer, Ray Serve, Triton's perf_analyzer. Idempotent.
#   bash e2e/bench/peers/setup.sh            # venvs under $AIO_BENCH_VENV (default <repo>/.infra/bench/venv)
#   bash e2e/bench/peers/setup.sh --model    # also write the test MLP (.infra/bench/models/mlp-peer-test.onnx)
# Three venvs (mlserver, ray, perf): MLServer 1.7.1 and Ray Serve 2.60 need disjoint fastapi ranges.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${AIO_BENCH_VENV:-$(cd "$HERE/../../.." && pwd)/.infra/bench/venv}"
PY="${PYTHON:-python3.11}"
mkdir -p "$VENV"

start=$(date +%s)
make_venv() { # name requirements-file
  local dir="$VENV/$1" req="$HERE/$2" stamp="$VENV/$1/.requirements.sha256"
  local sum; sum="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
    echo "venv $1: up to date"; return
  fi
  [[ -x "$dir/bin/python" ]] || "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -U pip
  local t=$(date +%s)
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  echo "$sum" > "$stamp"
  echo "venv $1: installed in $(( $(date +%s) - t ))s"
}
make_venv mlserver requirements.txt
make_venv ray requirements-ray.txt
make_venv perf requirements-perf.txt

# perf_analyzer's one system library.
if ! ldconfig -p | grep -q 'libb64.so.0d'; then
  if [[ $(id -u) == 0 ]]; then apt-get install -y -q libb64-0d >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q libb64-0d >/dev/null; }
  else echo "perf_analyzer needs libb64.so.0d: sudo apt-get install libb64-0d" >&2; fi
fi

if [[ "${1:-}" == "--model" ]]; then "$VENV/mlserver/bin/python" "$HERE/make_test_model.py"; fi

echo "--- versions ($(( $(date +%s) - start ))s)"
"$VENV/mlserver/bin/python" -c 'import mlserver, onnxruntime, numpy, uvloop; print("mlserver", mlserver.__version__, "| onnxruntime", onnxruntime.__version__, "| numpy", numpy.__version__, "| uvloop", uvloop.__version__)'
"$VENV/ray/bin/python" -c 'import ray, onnxruntime, fastapi; print("ray", ray.__version__, "| onnxruntime", onnxruntime.__version__, "| fastapi", fastapi.__version__)'
LD_LIBRARY_PATH="$VENV/perf/lib/python3.11/site-packages/nvidia/cuda_runtime/lib" "$VENV/perf/bin/perf_analyzer" --version 2>&1 | head -1
du -sh "$VENV"/{mlserver,ray,perf} 2>/dev/null | sed 's/^/size /'
