#!/usr/bin/env python3
"""Runs onnxruntime (CPU, basic graph optimisations) as the test oracle.

Usage:
  ort_run.py MODEL.onnx   run a model file
  ort_run.py --node       build a one-node model from the request's "node" entry, then run it
  ort_run.py --batch      run many model files, each on many input sets, in one process

Reads JSON on stdin: {"inputs": {name: {"dtype": "float32"|"int64"|"bool", "shape": [...],
"data": [...]}}} (data flat, row-major;
each input is converted to the type the model declares for it). With --node the request also holds
{"node": {"op_type": str, "inputs": [name or "" for absent], "n_outputs": int,
"attributes": {name: int | float | str | [ints] | [floats] | [strs]},
"int32_inputs": [names]}, "opset": int}; the node's
outputs are named out0, out1, ...

onnxruntime's CPU kernels refuse `layout = 1` on RNN/GRU/LSTM, so such nodes are rewritten to
`layout = 0` between Transposes first, which is exactly how the ONNX specification defines the
attribute.

Writes JSON on stdout: {"outputs": [{"name", "dtype", "shape", "data"}, ...]} in the model's
output order.

With --batch the request is {"models": [{"path": str, "feeds": [inputs, ...]}]} (each `inputs` as
above) and the reply {"results": [{"outputs": [[output, ...] per feed]} or {"error": str}]}, one
per model in order: a model onnxruntime refuses or fails on gives its error, not the whole run's.
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

DTYPES = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": np.bool_}
ONNX_TYPES = {
    "float32": TensorProto.FLOAT,
    "int64": TensorProto.INT64,
    "int32": TensorProto.INT32,
    "bool": TensorProto.BOOL,
}
# The numpy type onnxruntime expects for each declared input type; inputs are converted to it, so
# callers may send int64 for an int32 input.
SESSION_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def to_array(spec):
    return np.array(spec["data"], dtype=DTYPES[spec["dtype"]]).reshape(spec["shape"])


def from_array(name, array):
    array = np.asarray(array)
    if array.dtype == np.float32 or array.dtype == np.float64:
        dtype, data = "float32", [float(v) for v in array.astype(np.float32).ravel()]
    elif array.dtype == np.bool_:
        dtype, data = "bool", [bool(v) for v in array.ravel()]
    else:
        dtype, data = "int64", [int(v) for v in array.astype(np.int64).ravel()]
    return {"name": name, "dtype": dtype, "shape": list(array.shape), "data": data}


def node_model(request):
    node = request["node"]
    inputs = request["inputs"]
    outputs = [f"out{i}" for i in range(node["n_outputs"])]
    onnx_node = helper.make_node(
        node["op_type"], node["inputs"], outputs, **node.get("attributes", {})
    )
    # Integer inputs named in "int32_inputs" are declared int32 (e.g. sequence_lens).
    int32 = set(node.get("int32_inputs", []))
    graph_inputs = [
        helper.make_tensor_value_info(
            n,
            ONNX_TYPES["int32" if n in int32 else inputs[n]["dtype"]],
            inputs[n]["shape"],
        )
        for n in node["inputs"]
        if n
    ]
    graph_outputs = [
        helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs
    ]
    graph = helper.make_graph([onnx_node], "node", graph_inputs, graph_outputs)
    opset = request.get("opset", 17)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


RECURRENT = {"RNN", "GRU", "LSTM"}


def batch_major_to_time_major(model):
    """Rewrites every top-level RNN/GRU/LSTM with layout = 1 to layout = 0 plus Transposes."""
    graph = model.graph
    nodes = []
    for index, node in enumerate(graph.node):
        layout = [a for a in node.attribute if a.name == "layout"]
        if node.op_type not in RECURRENT or not layout or layout[0].i == 0:
            nodes.append(node)
            continue
        layout[0].i = 0
        tag = f"__layout{index}"
        # Inputs: X [batch, seq, in] -> [seq, batch, in]; initial_h / initial_c likewise.
        for slot in (0, 5, 6):
            if slot < len(node.input) and node.input[slot]:
                moved = f"{node.input[slot]}{tag}_in{slot}"
                nodes.append(
                    helper.make_node(
                        "Transpose", [node.input[slot]], [moved], perm=[1, 0, 2]
                    )
                )
                node.input[slot] = moved
        outputs = list(node.output)
        after = []
        for slot, name in enumerate(outputs):
            if not name:
                continue
            moved = f"{name}{tag}_out{slot}"
            node.output[slot] = moved
            perm = [2, 0, 1, 3] if slot == 0 else [1, 0, 2]
            after.append(helper.make_node("Transpose", [moved], [name], perm=perm))
        nodes.append(node)
        nodes.extend(after)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def session_for(model_bytes):
    model = batch_major_to_time_major(model_bytes)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def run_session(session, inputs):
    declared = {i.name: SESSION_TYPES.get(i.type) for i in session.get_inputs()}
    feeds = {}
    for name, spec in inputs.items():
        array = to_array(spec)
        feeds[name] = array.astype(declared[name]) if declared.get(name) else array
    names = [o.name for o in session.get_outputs()]
    results = session.run(names, feeds)
    return [from_array(n, r) for n, r in zip(names, results)]


def run_batch(request):
    results = []
    for job in request["models"]:
        try:
            session = session_for(onnx.load(job["path"]))
            outputs = [run_session(session, feed) for feed in job["feeds"]]
            results.append({"outputs": outputs})
        except Exception as error:
            results.append({"error": f"{type(error).__name__}: {error}"})
    return {"results": results}


def main():
    request = json.load(sys.stdin)
    if len(sys.argv) == 2 and sys.argv[1] == "--batch":
        json.dump(run_batch(request), sys.stdout)
        return
    if len(sys.argv) == 2 and sys.argv[1] == "--node":
        model = node_model(request)
    elif len(sys.argv) == 2:
        model = onnx.load(sys.argv[1])
    else:
        sys.exit(__doc__)
    session = session_for(model)
    json.dump({"outputs": run_session(session, request["inputs"])}, sys.stdout)


if __name__ == "__main__":
    main()
