"""A minimal MLServer inference runtime for one ONNX file, run by onnxruntime (CPU).

MLServer (1.7) ships no maintained ONNX runtime, so this is the smallest honest one: the session is
opened once per MLServer worker with the same threading as the AIO gateway (intra-op threads from
model-settings `parameters.extra.threads`, default 1; inter-op 1; sequential execution; default graph
optimisations), and every request runs the whole graph once. Tensors are batch-dim first, so MLServer's
adaptive batching (max_batch_size / max_batch_time in model-settings.json) can concatenate requests
along dim 0 before `predict` and split the outputs after it.

One extra read-only REST route, GET /v2/models/{name}/config, answers a Triton-style model config
(max_batch_size 0, no dynamic_batching: the batch dim is in the shapes) so Triton's perf_analyzer
(-i http) can start against MLServer; it is off the inference path. MLServer's gRPC service has no
ModelConfig RPC: mlserver_serve.py installs mlserver_triton_compat, which adds one, so perf_analyzer
-i grpc starts too.

model-settings.json: {"implementation": "mlserver_onnx_runtime.OnnxRuntimeModel",
                      "parameters": {"uri": "/path/model.onnx", "extra": {"threads": 1}}}
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import InferenceError
from mlserver.handlers import custom_handler
from mlserver.types import InferenceRequest, InferenceResponse, MetadataTensor

# onnxruntime element type -> OIP v2 datatype
ORT_TO_OIP: Dict[str, str] = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(float16)": "FP16",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(bool)": "BOOL",
}
OIP_TO_NP = {
    "FP32": np.float32, "FP64": np.float64, "FP16": np.float16, "INT8": np.int8, "INT16": np.int16,
    "INT32": np.int32, "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
    "UINT64": np.uint64, "BOOL": np.bool_,
}


def open_session(path: str, threads: int) -> ort.InferenceSession:
    """The same session options as the gateway's onnx.worker.ts (intra threads, inter 1, sequential)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


def tensor_metadata(values) -> List[MetadataTensor]:
    """Session inputs/outputs as OIP metadata; symbolic dims (batch) become -1."""
    return [
        MetadataTensor(
            name=v.name,
            datatype=ORT_TO_OIP.get(v.type, "BYTES"),
            shape=[d if isinstance(d, int) and d >= 0 else -1 for d in v.shape],
        )
        for v in values
    ]


class OnnxRuntimeModel(MLModel):
    async def load(self) -> bool:
        params = self.settings.parameters
        uri = params.uri if params is not None else None
        if not uri:
            raise InferenceError("model-settings parameters.uri must name the .onnx file")
        extra = (params.extra or {}) if params is not None else {}
        self._session = open_session(str(uri), int(extra.get("threads", 1)))
        self._inputs = {i.name: i for i in self._session.get_inputs()}
        self._output_names = [o.name for o in self._session.get_outputs()]
        if not self.inputs:
            self.inputs = tensor_metadata(self._session.get_inputs())
        if not self.outputs:
            self.outputs = tensor_metadata(self._session.get_outputs())
        # Warm up once with zeros (batch 1), as the gateway does before it reports the model ready.
        feeds = {}
        for i in self._session.get_inputs():
            dt = OIP_TO_NP.get(ORT_TO_OIP.get(i.type, ""), np.float32)
            feeds[i.name] = np.zeros([d if isinstance(d, int) and d >= 0 else 1 for d in i.shape], dtype=dt)
        self._session.run(None, feeds)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feeds = {}
        for request_input in payload.inputs:
            if request_input.name not in self._inputs:
                raise InferenceError(f"unknown input {request_input.name!r}")
            arr = NumpyCodec.decode_input(request_input)
            want = OIP_TO_NP.get(request_input.datatype)
            if want is not None and arr.dtype != want:
                arr = arr.astype(want, copy=False)
            feeds[request_input.name] = arr
        names = [o.name for o in payload.outputs] if payload.outputs else self._output_names
        results = self._session.run(names, feeds)
        outputs = [NumpyCodec.encode_output(name=n, payload=r) for n, r in zip(names, results)]
        for out in outputs:
            # No {"content_type": "np"} parameters on outputs: Triton's HTTP client (perf_analyzer
            # --output-tensor-format json) reads parameters.binary_data_size whenever parameters exist.
            out.parameters = None
        return InferenceResponse(model_name=self.name, model_version=self.version, id=payload.id, outputs=outputs)

    @custom_handler(rest_path="/v2/models/{model_name}/config", rest_method="GET")
    async def triton_config(self, model_name: str) -> dict:
        """Triton's model config as perf_analyzer reads it: max_batch_size, input/output names."""
        def entry(m: MetadataTensor) -> dict:
            return {"name": m.name, "data_type": "TYPE_" + ("STRING" if m.datatype == "BYTES" else m.datatype), "dims": list(m.shape)}

        return {
            "name": self.name,
            "platform": "onnxruntime_onnx",
            "backend": "mlserver",
            "max_batch_size": 0,
            "input": [entry(m) for m in (self.inputs or [])],
            "output": [entry(m) for m in (self.outputs or [])],
        }
