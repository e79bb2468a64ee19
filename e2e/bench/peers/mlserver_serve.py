"""Serve one ONNX file with MLServer (OIP v2 REST + gRPC) through mlserver_onnx_runtime.py.

  python mlserver_serve.py --model PATH --name NAME [--model PATH2 --name NAME2 ...] [--http-port 8080] [--grpc-port 8081]
      [--max-batch-size 64] [--max-batch-time 0.001] [--threads 1] [--workers 2]
      [--metrics-port P] [--workdir DIR]

Writes settings.json and NAME/model-settings.json (one folder per --model/--name pair, all with the
same batching and threads) into a fresh work dir (printed), then execs
`mlserver start` there (as `python -c` with mlserver_triton_compat installed first) (the process keeps this pid; stop it with SIGTERM / SIGINT, or kill its group:
MLServer's parallel workers are its children). Adaptive batching is on when --max-batch-size > 1:
requests are grouped up to max_batch_size or max_batch_time seconds, concatenated on dim 0.
--workers N sets parallel_workers (N inference processes fed by the front process; 0 runs inference in
the front process itself). Metrics are off unless --metrics-port is given. Logging is INFO without
access logs (debug=false).
"""
import argparse
import json
import os
import sys
import tempfile

import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mlserver_onnx_runtime import ORT_TO_OIP  # noqa: E402


def meta(values):
    return [
        {"name": v.name, "datatype": ORT_TO_OIP.get(v.type, "BYTES"),
         "shape": [d if isinstance(d, int) and d >= 0 else -1 for d in v.shape]}
        for v in values
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, action="append", help="path of the .onnx file (repeatable)")
    p.add_argument("--name", required=True, action="append", help="model name in /v2/models/{name} (one per --model)")
    p.add_argument("--http-port", type=int, default=8080)
    p.add_argument("--grpc-port", type=int, default=8081)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--max-batch-size", type=int, default=64)
    p.add_argument("--max-batch-time", type=float, default=0.001, help="seconds")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads per session")
    p.add_argument("--workers", type=int, default=2, help="MLServer parallel_workers (0: infer in the front process)")
    p.add_argument("--metrics-port", type=int, default=0, help="0: metrics endpoint off")
    p.add_argument("--workdir", default=None, help="default: a new temp dir")
    a = p.parse_args()

    if len(a.model) != len(a.name):
        p.error("give one --name per --model")
    work = a.workdir or tempfile.mkdtemp(prefix=f"mlserver-{a.name[0]}-")
    settings = {
        "debug": False,
        "host": a.host,
        "http_port": a.http_port,
        "grpc_port": a.grpc_port,
        "parallel_workers": a.workers,
        "load_models_at_startup": True,
        "metrics_endpoint": "/metrics" if a.metrics_port else None,
        "metrics_port": a.metrics_port or 8082,
        "metrics_dir": os.path.join(work, ".metrics"),
        "environments_dir": os.path.join(work, ".envs"),
        "gzip_enabled": False,
    }
    with open(os.path.join(work, "settings.json"), "w") as f:
        json.dump(settings, f, indent=2)
    for path, name in zip(a.model, a.name):
        model = os.path.abspath(path)
        # Read the signature here so /v2/models/{name} metadata is complete before any worker loads it.
        probe = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        inputs, outputs = meta(probe.get_inputs()), meta(probe.get_outputs())
        del probe
        model_settings = {
            "name": name,
            "implementation": "mlserver_onnx_runtime.OnnxRuntimeModel",
            "max_batch_size": a.max_batch_size if a.max_batch_size > 1 else 0,
            "max_batch_time": a.max_batch_time if a.max_batch_size > 1 else 0.0,
            "inputs": inputs,
            "outputs": outputs,
            "parameters": {"uri": model, "extra": {"threads": a.threads}},
        }
        os.makedirs(os.path.join(work, name), exist_ok=True)
        with open(os.path.join(work, name, "model-settings.json"), "w") as f:
            json.dump(model_settings, f, indent=2)
    print(f"mlserver workdir {work}", flush=True)

    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # One onnxruntime thread means one: keep numpy/BLAS from spinning up pools of their own.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, str(a.threads))
    os.chdir(work)
    # `mlserver start WORK`, with the ModelConfig RPC added first (mlserver_triton_compat: MLServer imports
    # the runtime only when it loads the model, after its gRPC server is built).
    boot = "import sys, mlserver_triton_compat; mlserver_triton_compat.install(); sys.argv[0] = 'mlserver'; from mlserver.cli import main; sys.exit(main())"
    os.execve(sys.executable, [sys.executable, "-c", boot, "start", work], env)


if __name__ == "__main__":
    main()
