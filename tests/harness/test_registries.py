"""Every registry, looped over (timm's style): each registered pipeline, data reader, executor and latency backend
has what the harness asks of it, and an unknown name is refused with the valid names."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import pytest

from benchmarks.data import sources
from benchmarks.registry import methods
from benchmarks.registry.backends import (
    DEVICE_KINDS,
    DTYPES,
    UnknownBackendError,
    get_backend,
    is_device_name,
    list_backends,
)
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


@pytest.mark.parametrize("name", list(PIPELINES))
def test_every_pipeline_entry_names_what_exists(name):
    """What the registry says of a pipeline is what the rest of the code can use: a registered labeling method,
    a resize rule the object sizes know, colours matplotlib reads, config keys its CONFIG has."""
    from matplotlib.colors import is_color_like

    from benchmarks.data.sizes import RULES

    p = PIPELINES[name]
    assert methods.get(p.labeling_method).name == p.labeling_method
    assert p.resize in RULES and p.min_imgsz >= 32 and p.title
    assert p.palette and all(is_color_like(c) for c in p.palette)
    fields = set(p.config_class()().to_dict())
    assert set(p.name_keys) <= fields and set(p.train_flags) <= fields, (p.name_keys, p.train_flags)
    assert p.quick_epochs is None or p.quick_epochs >= 1
    assert p.val_metric and p.val_metric not in p.old_val_metrics


@pytest.mark.parametrize("name", methods.list_methods())
def test_every_labeling_method_has_a_label_colour_and_unit(name):
    from matplotlib.colors import is_color_like

    m = methods.get(name)
    assert m.label and is_color_like(m.colour) and m.unit in ("image", "box")
    assert all(methods.canonical(a) == name for a in m.aliases)


def test_an_unknown_pipeline_lists_the_pipelines():
    with pytest.raises(UnknownPipelineError, match="pipelines: " + ", ".join(PIPELINES)):
        get("segmenter")


def test_every_reader_is_registered_and_an_unknown_one_lists_them():
    from benchmarks.data.problems import DataError

    names = sources.list_readers()
    assert {"folders", "labels_txt", "class_lists", "yolo_dataset", "cvat_xml", "cvat_coco", "cvat_yolo"} <= set(names)
    with pytest.raises(DataError, match="valid readers: " + ", ".join(sorted(names))):
        sources.get_source("pascal_voc")


@pytest.mark.parametrize("name", sources.list_readers())
def test_every_reader_has_a_kind_and_a_sniffing_rule(name):
    entry = sources.get_reader(name)
    assert entry.name == name and entry.read is sources.get_source(name)
    assert list(inspect.signature(entry.read).parameters) == ["spec", "problems"]
    assert entry.kind in sources.KINDS
    assert (name in sources.box_readers()) == (entry.kind == "boxes")
    assert entry.sniff is None or callable(entry.sniff)
    assert isinstance(entry.priority, int)


def test_box_readers_are_the_formats_with_boxes():
    # the config defaults `labels.detector` to the first source whose reader is one of these
    assert sources.box_readers() == ["cvat_coco", "cvat_xml", "cvat_yolo", "yolo_dataset"]


def test_every_module_in_the_sources_package_registers_a_reader():
    """No hand-kept list: each reader file is found by discovery and registers at least one reader."""
    files = {p.stem for p in Path(sources.__file__).parent.glob("*.py") if not p.stem.startswith("_")}
    registered_by = {sources.get_reader(n).read.__module__.rpartition(".")[2] for n in sources.list_readers()}
    assert registered_by == files


DROPPED_READER = """
from benchmarks.data.sources import SourceResult, register_source


def looks_like_voc(path):
    return path.suffix in (".voc", ".xml")  # .xml too: cvat_xml sniffs first, a default priority comes last


@register_source("pascal_voc", kind="boxes", sniff=looks_like_voc)
def read(spec, problems):
    return SourceResult([], [], kind="labels")  # not the kind it registered
"""


def test_a_reader_module_dropped_into_the_package_is_found_and_sniffed(tmp_path, monkeypatch):
    from benchmarks.data.inspect import detect_reader
    from benchmarks.data.problems import Problems

    module = f"{sources.__name__}.zz_pascal_voc"
    (tmp_path / "zz_pascal_voc.py").write_text(DROPPED_READER)
    monkeypatch.setattr(sources, "__path__", [*sources.__path__, str(tmp_path)])
    monkeypatch.setattr(sources, "_READERS", dict(sources._READERS))  # the registration is undone after the test
    monkeypatch.setitem(sys.modules, module, None)  # so that teardown removes what the test imports under this name
    del sys.modules[module]

    assert "pascal_voc" in sources.list_readers() and "pascal_voc" in sources.box_readers()
    assert sources.sniff(tmp_path / "a.voc") == "pascal_voc" == detect_reader(tmp_path / "a.voc")
    assert sources.sniff(tmp_path / "a.xml") == "cvat_xml"
    spec = sources.SourceSpec("voc", "pascal_voc", tmp_path / "a.voc")
    with pytest.raises(ValueError, match="registered with kind 'boxes' but returned 'labels'"):
        sources.read_source(spec, Problems())


def test_a_reader_must_say_what_it_yields():
    with pytest.raises(ValueError, match="kind 'masks' is not one of labels, boxes"):
        sources.register_source("pascal_voc", kind="masks")
    with pytest.raises(ValueError, match="sniff must be a function"):
        sources.register_source("pascal_voc", kind="boxes", sniff=".xml")


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


@pytest.mark.parametrize("name", list_backends())
def test_every_latency_backend_is_built_or_recorded_unavailable_and_has_what_the_report_needs(name):
    from benchmarks.measure import variants as V  # noqa: N812
    from benchmarks.report.plots import BACKEND_MARKERS

    b = get_backend(name)
    assert b.name == name and b.label
    # a backend clsdet runs has a builder; one it does not is recorded unavailable by `external`
    assert (name in V.BUILDERS) == b.runs, name
    if not b.runs:
        assert b.package and b.install.startswith("pip install"), name
        v = V.build(None, "classifier", "cpu", name, "float32", None, {}, None)
        assert v.predictor is None and b.package in v.reason and (b.install in v.reason or "runner yet" in v.reason)
    if b.package:
        assert b.install and b.package.split(".")[0] in b.install, name
    assert b.setup_s >= 0 and (b.setup_s > 0) == (b.setup is not None), name
    assert BACKEND_MARKERS[name] == b.marker
    from matplotlib.markers import MarkerStyle

    MarkerStyle(b.marker)  # raises on a marker matplotlib does not have


def test_every_builder_and_dtype_limit_is_a_registered_backend():
    from benchmarks.measure import variants as V  # noqa: N812

    assert set(V.BUILDERS) | set(V.DTYPE_LIMITS) <= set(list_backends())
    assert list_backends()[0] == "eager"  # compile reuses the layout eager's probe chose: eager is built first


def test_an_unknown_backend_lists_the_backends():
    with pytest.raises(UnknownBackendError, match="backends: " + ", ".join(list_backends())) as e:
        get_backend("nope")
    assert isinstance(e.value, ValueError) and e.value.user_error


def test_the_config_checks_backends_and_devices_against_the_table():
    from benchmarks.config import LatencyConfig
    from benchmarks.config.build import ConfigError
    from benchmarks.config.schema import _check_latency
    from benchmarks.measure import devices

    assert devices.is_device_name is is_device_name and devices.DEVICE_KINDS is DEVICE_KINDS  # one definition
    _check_latency(LatencyConfig(backends=list_backends(), dtypes=list(DTYPES), devices=["cpu", "cuda:1"]), "b.yaml")
    with pytest.raises(ConfigError, match="allowed: " + ", ".join(list_backends())):
        _check_latency(LatencyConfig(backends=["eager", "nope"]), "b.yaml")
    with pytest.raises(ConfigError, match="allowed: auto, cpu, cuda, mps, cuda:N"):
        _check_latency(LatencyConfig(devices=["cuda:x"]), "b.yaml")


def test_the_config_package_imports_nothing_from_measure():
    """Import arrows point down: config/ is below measure/ (the names it checks live in benchmarks/registry/)."""
    root = Path(__file__).resolve().parents[2] / "benchmarks" / "config"
    found = []
    for f in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == "benchmarks.measure" or n.startswith("benchmarks.measure.") for n in names):
                found.append(f"{f.name}:{node.lineno}")
    assert root.is_dir() and not found, found
