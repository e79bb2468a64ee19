"""Write a small test MLP as ONNX: x FP32 [N,64] -> 256 -> 256 -> y FP32 [N,10], dynamic batch dim.

Usage: python make_test_model.py [OUT]   (default <repo>/.infra/bench/models/mlp-peer-test.onnx)
Seeded weights, so the same file each time. Opset 17, IR 8: loadable by onnxruntime >= 1.14.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".infra", "bench", "models", "mlp-peer-test.onnx")
rng = np.random.default_rng(42)
dims = [64, 256, 256, 10]
nodes, inits = [], []
prev = "x"
for i in range(3):
    w = (rng.standard_normal((dims[i], dims[i + 1])) / np.sqrt(dims[i])).astype(np.float32)
    b = (rng.standard_normal(dims[i + 1]) * 0.01).astype(np.float32)
    inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
    out = "y" if i == 2 else f"h{i}"
    gemm_out = out if i == 2 else f"g{i}"
    nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [gemm_out], name=f"gemm{i}"))
    if i < 2:
        nodes.append(helper.make_node("Relu", [gemm_out], [out], name=f"relu{i}"))
    prev = out
graph = helper.make_graph(
    nodes,
    "mlp_peer_test",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="aio-bench-peers")
model.ir_version = 8
onnx.checker.check_model(model)
os.makedirs(os.path.dirname(OUT), exist_ok=True)
onnx.save(model, OUT)
print(OUT)
