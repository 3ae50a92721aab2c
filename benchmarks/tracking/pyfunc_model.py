"""A candidate as an MLflow-native model: `mlflow.pyfunc` wrapping its predictor, so it can be registered and served.

    model = mlflow.pyfunc.load_model("models:/<model id>")      # the run's tag `clsdet.model_uri`
    model.predict(pd.DataFrame({"path": ["a.jpg", "b.png"]}))  # or an `image` column of encoded bytes

Input: a pandas DataFrame with a `path` column of image files and/or an `image` column of encoded image bytes (a row
with bytes uses them, else its path; in a JSON request to `mlflow models serve` the bytes are base64 and "" stands for
"no bytes", as MLflow decodes every value of a binary column). Output: one row per input row, in order: `path` (as
given, "" for bytes), `score/<class>` (the model's per-class score in [0, 1]), `label/<class>` (score >= the class's
threshold tuned on val) and `labels` (the positive classes, comma-separated). The class names and thresholds are
in the model's metadata and in its artifact folder; `model_config={"device": "cuda"}` at load picks the device
(default cpu).

The model's code is this module plus the pipeline it names (benchmarks.registry.pipelines' registry): it loads where
clsdet-bench is installed (the repo's editable install or the package), not from code copied into the model. Serve
it from such an environment: `mlflow models serve -m models:/<id> --env-manager local`.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import Model, ModelSignature
from mlflow.tracking._tracking_service.utils import _use_tracking_uri
from mlflow.types import ColSpec, Schema

from benchmarks.registry import pipelines as registry
from benchmarks.tracking.store import metric_name

ARTIFACT = "artifact"  # the key of the predictor's artifact folder among the model's artifacts
PATH, IMAGE = "path", "image"


class PredictorModel(mlflow.pyfunc.PythonModel):
    """`pipeline`: the registry name of the pipeline that loads the artifact (benchmarks/registry/pipelines.py)."""

    def __init__(self, pipeline: str):
        self.pipeline = pipeline
        self.predictor = None

    def load_context(self, context) -> None:
        device = str((context.model_config or {}).get("device") or "cpu")
        self.predictor = registry.load_predictor(self.pipeline, context.artifacts[ARTIFACT], device)

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        df = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if PATH not in df.columns and IMAGE not in df.columns:
            raise ValueError(
                f"the input has columns {list(df.columns)}; give a `{PATH}` column of image files or an `{IMAGE}` "
                "column of encoded image bytes"
            )
        pred = self.predictor
        with tempfile.TemporaryDirectory(prefix="clsdet-pyfunc-") as tmp:
            paths, shown = _image_files(df, Path(tmp))
            scores = np.asarray(pred.predict_scores(paths), dtype=np.float64).reshape(len(paths), len(pred.classes))
        return output_frame(shown, scores, list(pred.classes), np.asarray(pred.thresholds, dtype=np.float64))


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _image_files(df: pd.DataFrame, tmp: Path) -> tuple[list[str], list[str]]:
    """(a file per row to score, the path to show per row): bytes are written under `tmp` with their format's
    suffix (Ultralytics reads files by suffix); a path must be a file. Errors name the row and the fix."""
    # deferred: PIL is heavy
    from PIL import Image, UnidentifiedImageError

    files, shown = [], []
    for i, row in enumerate(df.to_dict("records")):
        data, path = row.get(IMAGE), row.get(PATH)
        if _present(data) and len(data):
            try:
                fmt = Image.open(io.BytesIO(bytes(data))).format or "png"
            # ImportError: once Ultralytics has wrapped PIL.Image.open, bytes PIL cannot identify end in its attempt
            # to import pi_heif for HEIF (classifier/data.py says more)
            except (UnidentifiedImageError, OSError, ImportError) as exc:
                raise ValueError(f"row {i}: `{IMAGE}` is not an encoded image this model can read ({exc})") from None
            f = tmp / f"row{i:06d}.{fmt.lower()}"
            f.write_bytes(bytes(data))
            files.append(str(f))
            shown.append(str(path) if _present(path) else "")
        elif _present(path) and Path(str(path)).is_file():
            files.append(str(path))
            shown.append(str(path))
        else:
            raise ValueError(
                f"row {i}: `{PATH}` {path!r} is not a file and the row has no `{IMAGE}` bytes; give a path this "
                "process can read, or the encoded image in the `image` column"
            )
    return files, shown


def output_frame(paths: list[str], scores: np.ndarray, classes: list[str], thresholds: np.ndarray) -> pd.DataFrame:
    decided = scores >= thresholds[None, :]
    out = {PATH: paths}
    out.update({f"score/{c}": scores[:, j] for j, c in enumerate(classes)})
    out.update({f"label/{c}": decided[:, j] for j, c in enumerate(classes)})
    out["labels"] = [",".join(c for c, d in zip(classes, row) if d) for row in decided]
    return pd.DataFrame(out)


def signature(classes: list[str]):
    inputs = Schema([ColSpec("string", PATH, required=False), ColSpec("binary", IMAGE, required=False)])
    outputs = Schema([
        ColSpec("string", PATH),
        *[ColSpec("double", f"score/{c}") for c in classes],
        *[ColSpec("boolean", f"label/{c}") for c in classes],
        ColSpec("string", "labels"),
    ])  # fmt: skip
    return ModelSignature(inputs=inputs, outputs=outputs)


def _model_files(artifact: Path, dest: Path, skip_dirs: set[str]) -> Path:
    """A copy of the artifact folder without training's working folders (checkpoints, Ultralytics' run)."""
    for f in sorted(artifact.rglob("*")):
        rel = f.relative_to(artifact)
        if f.is_file() and not skip_dirs & set(rel.parts[:-1]):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest / rel)
    return dest


def log_pyfunc(client, run_id: str, name: str, pipeline: str, artifact: Path, skip_dirs: set[str]) -> str:
    """Log the candidate `name` (its artifact folder, loaded by `pipeline`) as a pyfunc model of the run `run_id`;
    returns its URI (`models:/<model id>`)."""
    # fails here, with the artifact's own error, if it cannot load
    pred = registry.load_predictor(pipeline, artifact, "cpu")
    classes, thresholds = list(pred.classes), [float(t) for t in np.asarray(pred.thresholds).ravel()]
    try:  # what `mlflow models serve` installs in a fresh environment; given, so MLflow does not load the model
        requirements = [f"clsdet-bench=={version('clsdet-bench')}"]  # to infer them (seconds, and a subprocess)
    except PackageNotFoundError:
        requirements = ["clsdet-bench"]
    experiment_id = client.get_run(run_id).info.experiment_id
    model_name = metric_name(name).replace("/", "-")
    logged = client.create_logged_model(experiment_id=experiment_id, name=model_name, source_run_id=run_id)
    with tempfile.TemporaryDirectory(prefix="clsdet-model-") as tmp, _use_tracking_uri(client.tracking_uri):
        Model.log(
            artifact_path=None,
            name=model_name,
            flavor=mlflow.pyfunc,
            run_id=run_id,
            model_id=logged.model_id,
            python_model=PredictorModel(pipeline),
            artifacts={ARTIFACT: str(_model_files(Path(artifact), Path(tmp), skip_dirs))},
            signature=signature(classes),
            pip_requirements=requirements,
            metadata={"clsdet.pipeline": pipeline, "classes": classes, "thresholds": thresholds},
        )
    return f"models:/{logged.model_id}"
