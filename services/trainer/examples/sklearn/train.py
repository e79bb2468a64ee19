"""External trainer example: logistic regression with scikit-learn, exported with skl2onnx.

The AIOchestrator trainer runs this as `external:sklearn` (see the trainer's README, "External trainers").
It reads, from the environment:
  AIO_DATASET_PATH     the dataset version's NDJSON export (one record per line: its fields, or {key, fields})
  AIO_DATASET_SCHEMA   the DatasetSchema as JSON (fields[].type: FIELD_TYPE_FLOAT, FIELD_TYPE_INT, ...)
  AIO_LABEL_FIELD      the label field
  AIO_FEATURES         comma list of feature names (this example uses the numeric ones)
  AIO_HYPERPARAMETERS  JSON object of strings (here: "c", "max_iter", "validation_fraction", "seed")
  AIO_OUTPUT_DIR       where to write model.onnx and metrics.json
The ONNX graph takes `input` float[N, F] (the numeric features in AIO_FEATURES order) and gives
`label` int64[N] (the class index in sorted class order) and `probabilities` float[N, classes].
"""

import json
import math
import os
import sys

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

NUMERIC = {"FIELD_TYPE_FLOAT", "FIELD_TYPE_INT"}


def env(name):
    value = os.environ.get(name)
    if value is None:
        sys.exit(f"{name} is not set: this script is run by the trainer as an external trainer")
    return value


def read_rows(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict):
                sys.exit(f"{path} line {n} is not a JSON object")
            fields = record.get("fields")
            rows.append(fields if isinstance(fields, dict) else record)
    return rows


def to_float(value):
    if value is None or value == "":
        return math.nan
    return float(value)


def main():
    schema = json.loads(env("AIO_DATASET_SCHEMA"))
    label = env("AIO_LABEL_FIELD")
    types = {f["name"]: f.get("type", "") for f in schema.get("fields", [])}
    features = [name for name in env("AIO_FEATURES").split(",") if name and types.get(name) in NUMERIC]
    if not features:
        sys.exit("no numeric features: this example trains on FLOAT and INT fields only")
    params = json.loads(os.environ.get("AIO_HYPERPARAMETERS") or "{}")
    out_dir = env("AIO_OUTPUT_DIR")

    rows = [r for r in read_rows(env("AIO_DATASET_PATH")) if r.get(label) not in (None, "")]
    x = np.array([[to_float(r.get(f)) for f in features] for r in rows], dtype=np.float32)
    # Missing values: the column's mean (the ONNX graph expects complete rows).
    means = np.nan_to_num(np.nanmean(x, axis=0)) if len(x) else np.zeros(len(features))
    x = np.where(np.isnan(x), means, x).astype(np.float32)
    classes = sorted({str(r[label]) for r in rows})
    if len(classes) < 2:
        sys.exit(f'label "{label}" has {len(classes)} class(es); need at least 2')
    y = np.array([classes.index(str(r[label])) for r in rows], dtype=np.int64)
    print(f"{len(rows)} rows, features {features}, classes {classes}", flush=True)

    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=float(params.get("validation_fraction", "0.2")), random_state=int(params.get("seed", "42")), stratify=y
    )
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=float(params.get("c", "1.0")), max_iter=int(params.get("max_iter", "1000")))
    )
    model.fit(x_train, y_train)
    accuracy = float(model.score(x_val, y_val))
    print(f"validation accuracy {accuracy:.4f}", flush=True)

    onnx_model = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, len(features)]))],
        final_types=None,
        options={id(model.steps[-1][1]): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    names = [o.name for o in onnx_model.graph.output]
    # skl2onnx names them output_label / output_probability: the platform's convention is label / probabilities.
    rename = {names[0]: "label", names[1]: "probabilities"}
    for node in onnx_model.graph.node:
        node.output[:] = [rename.get(o, o) for o in node.output]
    for output in onnx_model.graph.output:
        output.name = rename.get(output.name, output.name)

    with open(os.path.join(out_dir, "model.onnx"), "wb") as f:
        f.write(onnx_model.SerializeToString())
    metrics = {"accuracy": accuracy, "train_rows": float(len(x_train)), "validation_rows": float(len(x_val))}
    with open(os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f)


if __name__ == "__main__":
    main()
