#!/usr/bin/env bash
# Triton's perf_analyzer from the peers' venv (see requirements-perf.txt), writing CSV.
#   perf_analyzer.sh -m mlp -u 127.0.0.1:8001 -i grpc --shape x:1,64 --concurrency-range 64 \
#                    --measurement-interval 5000 [-f out.csv] [any other perf_analyzer flag]
# Adds, unless given: -f ${PA_CSV:-perf_analyzer.csv}, --stability-percentage 50 and --max-trials 6 (a
# shared 2-core box rarely meets the default 10% over 3 windows), -v off.
# The server must answer ModelMetadata and ModelConfig (Triton's; an empty config is enough) for the
# model; gRPC ModelInfer with raw_input_contents; over HTTP, Triton's binary tensor extension.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${AIO_BENCH_VENV:-$(cd "$HERE/../../.." && pwd)/.infra/bench/venv}"
PA="$VENV/perf/bin/perf_analyzer"
[[ -x "$PA" ]] || { echo "no $PA: run e2e/bench/peers/setup.sh" >&2; exit 2; }
export LD_LIBRARY_PATH="$VENV/perf/lib/python3.11/site-packages/nvidia/cuda_runtime/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
args=("$@")
has() { local f; for f in "${args[@]}"; do [[ "$f" == "$1" || "$f" == "$1="* ]] && return 0; done; return 1; }
has -f || args+=(-f "${PA_CSV:-perf_analyzer.csv}")
has --stability-percentage || args+=(--stability-percentage 50)
has --max-trials || args+=(--max-trials 6)
exec "$PA" "${args[@]}"
