"""Serve one ONNX file with Ray Serve, answering the OIP v2 REST routes with the same JSON bytes.

  python ray_serve.py --model PATH --name NAME [--port 8000] [--grpc-port 0] [--max-batch-size 64]
      [--batch-wait-timeout 0.001] [--threads 1] [--replicas 2] [--num-cpus 2] [--temp-dir DIR]

Starts a local Ray cluster (no dashboard, no usage stats, logical CPUs = --num-cpus) and one Serve
application on 127.0.0.1:PORT whose ingress deployment (--replicas replicas, 1 logical CPU each, access
log off) answers:
  POST /v2/models/{name}/infer    OIP v2 JSON request -> OIP v2 JSON response (batch dim first)
  GET  /v2 (server metadata), /v2/health/live|ready, /v2/models/{name}/ready, /v2/models/{name} (metadata),
       /v2/models/{name}/config (Triton-style, for perf_analyzer -i http --input-tensor-format json)
With --grpc-port, Serve's gRPC proxy also serves inference.GRPCInferenceService (the repo's
proto/inference/*.proto, compiled with grpcio-tools into <venv>/oip_gen on first use): ModelInfer
(raw_input_contents or typed contents in, raw_output_contents out), ModelMetadata, ModelConfig,
ModelReady, ServerLive, ServerReady, ServerMetadata.
Requests go through @serve.batch (max_batch_size requests, or batch_wait_timeout_s seconds): their
inputs are concatenated on dim 0, run once by onnxruntime (intra-op --threads, inter-op 1, sequential,
in a worker thread so the replica keeps reading requests), and the outputs split back by row counts.
Prints "ready http://127.0.0.1:PORT" on stdout when the route answers; SIGTERM/SIGINT shut Serve and
Ray down. Ray's logs: TEMP_DIR/session_latest/logs (printed at start).
"""
import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time
import urllib.request

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "1")

import numpy as np  # noqa: E402
import ray  # noqa: E402
from ray import serve  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OIP_GEN = os.path.join(sys.prefix, "oip_gen")
SERVICER = "inference.grpc_service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server"


def compile_oip_protos() -> str:
    """proto/inference/{grpc_service,model_config}.proto -> OIP_GEN/inference/*_pb2*.py (once per proto change)."""
    import hashlib

    src = os.path.join(REPO, "proto")
    files = [os.path.join("inference", f) for f in ("grpc_service.proto", "model_config.proto")]
    digest = hashlib.sha256(b"".join(open(os.path.join(src, f), "rb").read() for f in files)).hexdigest()
    stamp = os.path.join(OIP_GEN, ".sha256")
    if os.path.exists(stamp) and open(stamp).read() == digest:
        return OIP_GEN
    from grpc_tools import protoc

    os.makedirs(OIP_GEN, exist_ok=True)
    rc = protoc.main(["protoc", f"-I{src}", f"--python_out={OIP_GEN}", f"--grpc_python_out={OIP_GEN}", *files])
    if rc != 0:
        raise RuntimeError(f"protoc failed ({rc}) on {files}")
    with open(stamp, "w") as f:
        f.write(digest)
    return OIP_GEN


ORT_TO_OIP = {
    "tensor(float)": "FP32", "tensor(double)": "FP64", "tensor(float16)": "FP16", "tensor(int8)": "INT8",
    "tensor(int16)": "INT16", "tensor(int32)": "INT32", "tensor(int64)": "INT64", "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16", "tensor(uint32)": "UINT32", "tensor(uint64)": "UINT64", "tensor(bool)": "BOOL",
}
OIP_TO_NP = {
    "FP32": np.float32, "FP64": np.float64, "FP16": np.float16, "INT8": np.int8, "INT16": np.int16,
    "INT32": np.int32, "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
    "UINT64": np.uint64, "BOOL": np.bool_,
}
NP_TO_OIP = {np.dtype(t): oip for oip, t in OIP_TO_NP.items()}


class OnnxOip:
    """The ingress deployment: one onnxruntime session per replica, OIP v2 REST on top of @serve.batch."""

    def __init__(self, model: str, name: str, threads: int, max_batch_size: int, wait_s: float):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
        self.name = name
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.output_names = [o.name for o in self.session.get_outputs()]

        def meta(values):
            return [{"name": v.name, "datatype": ORT_TO_OIP.get(v.type, "BYTES"),
                     "shape": [d if isinstance(d, int) and d >= 0 else -1 for d in v.shape]} for v in values]

        self.metadata = json.dumps({"name": name, "versions": ["1"], "platform": "onnxruntime_onnx",
                                    "inputs": meta(self.session.get_inputs()),
                                    "outputs": meta(self.session.get_outputs())}).encode()
        # Triton's model config, as perf_analyzer reads it (max_batch_size 0: the batch dim is in the shapes).
        self.config = json.dumps({"name": name, "platform": "onnxruntime_onnx", "backend": "ray-serve", "max_batch_size": 0,
                                  "input": [{"name": m["name"], "data_type": "TYPE_" + m["datatype"], "dims": m["shape"]}
                                            for m in meta(self.session.get_inputs())],
                                  "output": [{"name": m["name"], "data_type": "TYPE_" + m["datatype"], "dims": m["shape"]}
                                             for m in meta(self.session.get_outputs())]}).encode()
        # Warm up (batch 1 of zeros), as the gateway and MLServer do before they report ready.
        self.session.run(None, {i.name: np.zeros([d if isinstance(d, int) and d >= 0 else 1 for d in i.shape],
                                                  dtype=OIP_TO_NP.get(ORT_TO_OIP.get(i.type, ""), np.float32))
                                for i in self.session.get_inputs()})
        self.infer_batch.set_max_batch_size(max_batch_size)
        self.infer_batch.set_batch_wait_timeout_s(wait_s)

    def _run(self, feeds):
        return self.session.run(self.output_names, feeds)

    @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.001)
    async def infer_batch(self, requests: list) -> list:
        """requests: dicts input name -> array (batch dim first). Returns one list of outputs per request."""
        rows = [next(iter(r.values())).shape[0] for r in requests]
        if len(requests) == 1:
            feeds = requests[0]
        else:
            feeds = {n: np.concatenate([r[n] for r in requests], axis=0) for n in requests[0]}
        outs = await asyncio.to_thread(self._run, feeds)
        result, start = [], 0
        for n in rows:
            result.append([o[start : start + n] for o in outs])
            start += n
        return result

    async def __call__(self, request: Request) -> Response:
        path = request.url.path
        prefix = f"/v2/models/{self.name}"
        if request.method == "POST" and path == prefix + "/infer":
            body = json.loads(await request.body())
            feeds = {}
            for t in body.get("inputs", []):
                if t["name"] not in self.inputs:
                    return JSONResponse({"error": f"unknown input {t['name']!r}"}, status_code=400)
                dtype = OIP_TO_NP.get(t["datatype"])
                if dtype is None:
                    return JSONResponse({"error": f"datatype {t['datatype']} not served"}, status_code=400)
                feeds[t["name"]] = np.asarray(t["data"], dtype=dtype).reshape(t["shape"])
            outs = await self.infer_batch(feeds)
            wanted = [o["name"] for o in body.get("outputs", [])] or self.output_names
            outputs = [
                {"name": n, "datatype": NP_TO_OIP.get(a.dtype, "BYTES"), "shape": list(a.shape), "data": a.ravel().tolist()}
                for n, a in zip(self.output_names, outs) if n in wanted
            ]
            reply = {"model_name": self.name, "model_version": "1", "outputs": outputs}
            if "id" in body:
                reply["id"] = body["id"]
            return Response(json.dumps(reply), media_type="application/json")
        if request.method == "GET" and path in ("/v2/health/live", "/v2/health/ready", prefix + "/ready"):
            return Response(b"", status_code=200)
        if request.method == "GET" and path == prefix:
            return Response(self.metadata, media_type="application/json")
        if request.method == "GET" and path == "/v2":
            return JSONResponse({"name": "ray-serve", "version": ray.__version__, "extensions": []})
        if request.method == "GET" and path == prefix + "/config":
            return Response(self.config, media_type="application/json")
        return JSONResponse({"error": f"no route {request.method} {path}"}, status_code=404)

    # ---- gRPC (inference.GRPCInferenceService): Serve calls the method named like the RPC.

    async def ModelInfer(self, request):
        from inference import grpc_service_pb2 as pb

        feeds = {}
        for idx, t in enumerate(request.inputs):
            dtype = OIP_TO_NP.get(t.datatype)
            if dtype is None or t.name not in self.inputs:
                raise ValueError(f"input {t.name!r} ({t.datatype}) not served")
            if len(request.raw_input_contents) > idx:
                arr = np.frombuffer(request.raw_input_contents[idx], dtype=dtype)
            else:
                field = {"FP32": "fp32_contents", "FP64": "fp64_contents", "INT32": "int_contents", "INT64": "int64_contents",
                         "UINT32": "uint_contents", "UINT64": "uint64_contents", "BOOL": "bool_contents"}.get(t.datatype, "int_contents")
                arr = np.asarray(getattr(t.contents, field), dtype=dtype)
            feeds[t.name] = arr.reshape(list(t.shape))
        outs = await self.infer_batch(feeds)
        wanted = [o.name for o in request.outputs] or self.output_names
        resp = pb.ModelInferResponse(model_name=self.name, model_version="1", id=request.id)
        for n, a in zip(self.output_names, outs):
            if n in wanted:
                resp.outputs.add(name=n, datatype=NP_TO_OIP.get(a.dtype, "BYTES"), shape=list(a.shape))
                resp.raw_output_contents.append(np.ascontiguousarray(a).tobytes())
        return resp

    async def ModelMetadata(self, request):
        from inference import grpc_service_pb2 as pb

        meta = json.loads(self.metadata)
        resp = pb.ModelMetadataResponse(name=self.name, versions=["1"], platform=meta["platform"])
        for t in meta["inputs"]:
            resp.inputs.add(name=t["name"], datatype=t["datatype"], shape=t["shape"])
        for t in meta["outputs"]:
            resp.outputs.add(name=t["name"], datatype=t["datatype"], shape=t["shape"])
        return resp

    async def ModelConfig(self, request):
        from inference import grpc_service_pb2 as pb

        resp = pb.ModelConfigResponse()
        resp.config.name = self.name
        resp.config.platform = "onnxruntime_onnx"
        resp.config.backend = "ray-serve"
        return resp

    async def ModelReady(self, request):
        from inference import grpc_service_pb2 as pb

        return pb.ModelReadyResponse(ready=request.name == self.name)

    async def ServerLive(self, request):
        from inference import grpc_service_pb2 as pb

        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request):
        from inference import grpc_service_pb2 as pb

        return pb.ServerReadyResponse(ready=True)

    async def ServerMetadata(self, request):
        from inference import grpc_service_pb2 as pb

        return pb.ServerMetadataResponse(name="ray-serve", version=ray.__version__)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--grpc-port", type=int, default=0, help="0: no gRPC proxy")
    p.add_argument("--max-batch-size", type=int, default=64)
    p.add_argument("--batch-wait-timeout", type=float, default=0.001, help="seconds")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads per replica")
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--num-cpus", type=int, default=2, help="Ray's logical CPUs (>= replicas)")
    p.add_argument("--max-ongoing-requests", type=int, default=256, help="per replica, before the proxy queues")
    p.add_argument("--temp-dir", default=None, help="Ray's temp/log dir (keep it short: unix socket paths)")
    a = p.parse_args()

    temp = a.temp_dir or f"/tmp/ray-aio-{a.port}"
    os.makedirs(temp, exist_ok=True)
    print(f"ray logs {temp}/session_latest/logs", flush=True)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(a.threads))
    grpc_options = None
    if a.grpc_port:
        gen = compile_oip_protos()
        sys.path.insert(0, gen)
        # Ray's workers (proxy, replicas) inherit this environment from the raylet ray.init starts.
        os.environ["PYTHONPATH"] = gen + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
        grpc_options = {"port": a.grpc_port, "grpc_servicer_functions": [SERVICER]}
    ray.init(num_cpus=max(a.num_cpus, a.replicas), include_dashboard=False, _temp_dir=temp,
             log_to_driver=False, configure_logging=True, logging_level="warning")
    serve.start(http_options={"host": "127.0.0.1", "port": a.port}, grpc_options=grpc_options,
                logging_config={"enable_access_log": False})
    dep = serve.deployment(
        OnnxOip,
        name=f"oip-{a.name}",
        num_replicas=a.replicas,
        ray_actor_options={"num_cpus": 1},
        max_ongoing_requests=a.max_ongoing_requests,
        logging_config={"enable_access_log": False, "log_level": "WARNING"},
    )
    serve.run(dep.bind(os.path.abspath(a.model), a.name, a.threads, a.max_batch_size, a.batch_wait_timeout),
              name=a.name, route_prefix="/", logging_config={"enable_access_log": False, "log_level": "WARNING"})

    url = f"http://127.0.0.1:{a.port}/v2/models/{a.name}/ready"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            pass
        if time.time() > deadline:
            print(f"not ready: {url}", file=sys.stderr, flush=True)
            sys.exit(1)
        time.sleep(0.2)
    print(f"ready http://127.0.0.1:{a.port}" + (f" grpc 127.0.0.1:{a.grpc_port}" if a.grpc_port else ""), flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    try:
        serve.shutdown()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
