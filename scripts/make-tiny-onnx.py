#!/usr/bin/env python3
"""Writes fixtures/onnx/tiny.onnx: a tiny image-embedding network for the tests
of the `onnx` feature (no model is ever downloaded).

input "image" [1, 3, S, S] (S = 64 in the tests; the spatial size is dynamic)
  -> Conv 3->16, 5x5, stride 2 -> Relu -> Conv 16->32, 3x3, stride 2 -> Relu
  -> GlobalAveragePool -> Flatten -> output "embedding" [1, 32]

The weights are fixed pseudo-random numbers (seed 7) plus a few hand-made
filters (brightness, colour opponents, horizontal/vertical edges), so the
output depends on the picture's colours and structure. Needs `pip install onnx numpy`.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
w1 = rng.normal(0, 0.2, (16, 3, 5, 5)).astype(np.float32)
w1[0] = 1.0 / 75  # brightness
w1[1, 0], w1[1, 1] = 1.0 / 25, -1.0 / 25  # red - green
w1[2, 2], w1[2, 0] = 1.0 / 25, -1.0 / 25  # blue - red
w1[3, :, :, :2], w1[3, :, :, 3:] = -0.1, 0.1  # vertical edges
w1[4, :, :2, :], w1[4, :, 3:, :] = -0.1, 0.1  # horizontal edges
b1 = np.zeros(16, np.float32)
w2 = rng.normal(0, 0.15, (32, 16, 3, 3)).astype(np.float32)
b2 = rng.normal(0, 0.05, 32).astype(np.float32)

nodes = [
    helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], strides=[2, 2], pads=[2, 2, 2, 2]),
    helper.make_node("Relu", ["c1"], ["r1"]),
    helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c2"], ["r2"]),
    helper.make_node("GlobalAveragePool", ["r2"], ["pooled"]),
    helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1),
]
graph = helper.make_graph(
    nodes,
    "tiny-embedder",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
    [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 32])],
    initializer=[numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="provenance-tests")
model.ir_version = 8
onnx.checker.check_model(model)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "onnx", "tiny.onnx")
onnx.save(model, out)
print(f"wrote {os.path.normpath(out)} ({os.path.getsize(out)} bytes)")
