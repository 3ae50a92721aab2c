"""Every registry, looped over (timm's style): each registered pipeline, data reader and executor has what the
harness asks of it, and an unknown name is refused with the valid names."""

from __future__ import annotations

import inspect

import pytest

from benchmarks.registry.pipelines import PIPELINES, UnknownPipelineError, get


@pytest.mark.parametrize("name", list(PIPELINES))
def test_every_pipeline_has_the_api_the_harness_calls(name):
    p = get(name)
    pkg = p.package()
    for fn in ("fit", "load", "step_functions", "estimate_params"):
        assert callable(getattr(pkg, fn, None)), f"{p.module}.{fn}"
    assert {"progress", "tracking_uri", "mlflow_run_id", "resume"} <= set(inspect.signature(pkg.fit).parameters)
    cfg = p.config_class()()  # every field has a default: a config section may be empty
    for key in ("epochs", "batch", "imgsz", "seed", "device"):
        assert hasattr(cfg, key), f"{p.config_class().__name__}.{key}"
    assert cfg.to_dict()["epochs"] == cfg.epochs  # the job spec carries the config as a plain dict
    assert p.labeling_method and p.method_label


def test_an_unknown_pipeline_lists_the_pipelines():
    with pytest.raises(UnknownPipelineError, match="pipelines: " + ", ".join(PIPELINES)):
        get("segmenter")


def test_every_reader_is_registered_and_an_unknown_one_lists_them():
    from benchmarks.data.problems import DataError
    from benchmarks.data.sources import get_source, list_readers

    names = list_readers()
    assert {"folders", "labels_txt", "class_lists", "yolo_dataset", "cvat_xml", "cvat_coco", "cvat_yolo"} <= set(names)
    for name in names:
        assert callable(get_source(name))
    with pytest.raises(DataError, match="valid readers: " + ", ".join(sorted(names))):
        get_source("pascal_voc")


@pytest.mark.parametrize("name", ["local", "ray"])
def test_every_executor_has_its_options_and_an_unknown_one_lists_them(name, tmp_path):
    from benchmarks.harness.executors import EXECUTORS, ExecutorError, get_executor, list_executors, run_jobs

    assert list_executors() == list(EXECUTORS)
    ex = get_executor(name)
    assert callable(ex.run) and ex.help and isinstance(ex.options, tuple)
    other = next(o for e in EXECUTORS.values() if e.name != name for o in e.options if o not in ex.options)
    with pytest.raises(ExecutorError, match=f"not the {name} executor's"):
        run_jobs(tmp_path, [], executor=name, **{other: 1})
    with pytest.raises(ExecutorError, match="executors: " + ", ".join(EXECUTORS)):
        get_executor("slurm")


def test_every_latency_backend_that_needs_a_package_says_which():
    from benchmarks.measure.variants import BACKENDS, EXTERNAL

    assert set(EXTERNAL) <= set(BACKENDS)
    for backend, (module, install) in EXTERNAL.items():
        assert module and install.startswith("pip install"), backend
