"""Adds the one Triton-only RPC that Triton's perf_analyzer needs to MLServer's gRPC server.

perf_analyzer (-i grpc, service kind triton) calls ModelMetadata, then ModelConfig, before any
inference; MLServer's OIP v2 gRPC service has no ModelConfig and answers UNIMPLEMENTED, and
perf_analyzer stops ("failed to get model config: Method not found!"). Imported by
mlserver_onnx_runtime (MLServer imports the runtime while it reads model-settings.json, before it
builds its servers), this wraps GRPCServer._create_server to register a generic handler for
/inference.GRPCInferenceService/ModelConfig that answers ModelConfigResponse{config{name}}: every
other field at its default (max_batch_size 0: the batch dim stays in the shapes, no dynamic_batching,
not decoupled, no response cache), which is all perf_analyzer reads. Messages are hand-encoded
(MLServer's bundled protos lack Triton's model_config.proto). It is off the inference path: ModelInfer
and every other RPC are MLServer's own.
"""
from __future__ import annotations

import grpc

_PATCHED = False


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_bytes(field: int, payload: bytes) -> bytes:
    return _varint((field << 3) | 2) + _varint(len(payload)) + payload


def model_name_of(request: bytes) -> str:
    """ModelConfigRequest: string name = 1; string version = 2."""
    i = 0
    while i < len(request):
        key, i = _read_varint(request, i)
        wire = key & 7
        if wire == 2:
            n, i = _read_varint(request, i)
            if key >> 3 == 1:
                return request[i : i + n].decode()
            i += n
        elif wire == 0:
            _, i = _read_varint(request, i)
        else:
            break
    return ""


def model_config_response(name: str) -> bytes:
    """ModelConfigResponse{ config = 1: ModelConfig{ name = 1, platform = 2, backend = 17 } }."""
    config = _field_bytes(1, name.encode()) + _field_bytes(2, b"onnxruntime_onnx") + _field_bytes(17, b"mlserver")
    return _field_bytes(1, config)


async def _model_config(request: bytes, context) -> bytes:
    return model_config_response(model_name_of(request))


def install() -> None:
    global _PATCHED
    if _PATCHED:
        return
    from mlserver.grpc.server import GRPCServer

    original = GRPCServer._create_server

    def _create_server(self):
        server = original(self)
        handler = grpc.method_handlers_generic_handler(
            "inference.GRPCInferenceService",
            {"ModelConfig": grpc.unary_unary_rpc_method_handler(_model_config)},
        )
        self._server.add_generic_rpc_handlers((handler,))
        return server

    GRPCServer._create_server = _create_server
    _PATCHED = True
