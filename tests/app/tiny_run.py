"""One tiny trained run per test session, shared by tests/app and tests/commands/test_predict.py.

A 40-image demo at 64 px, both models trained one epoch, latency minimal: the stages the app reads (artifacts,
results.json, plots/) in well under a minute of CPU.
"""

from __future__ import annotations

from pathlib import Path

from tiny_bench import tiny

TINY = tiny(bootstrap=10)
SKIPPED = ("size", "mlflow")  # the app never reads them
_BUILT: dict[str, Path] = {}


def tiny_run(tmp_path_factory) -> Path:
    """The run folder (built on first use in this session; later callers get the same folder)."""
    if "run" in _BUILT:
        return _BUILT["run"]
    from benchmarks.cli import main
    from benchmarks.config import load_config
    from benchmarks.harness import STAGES, run_bench

    root = tmp_path_factory.mktemp("tiny_run")
    data = root / "demo"
    assert main(["demo-data", str(data), "--images", "40", "--size", "64", "--seed", "1"]) == 0
    cfg = load_config(data / "clsdet.yaml", overrides=[*TINY, f"mlflow.tracking_uri=sqlite:///{root / 'mlflow.db'}"])
    _BUILT["run"] = run_bench(
        cfg, root / "runs", devices=["cpu"], only=[s for s in STAGES if s not in SKIPPED], echo=lambda _: None
    )
    _BUILT["data"] = data
    return _BUILT["run"]


def demo_data() -> Path:
    return _BUILT["data"]


def with_third_pipeline(run_dir: Path, monkeypatch, tmp_path: Path) -> Path:
    """The tiny run with a third pipeline in it, trained by no one: the fake pipeline (tests/fake_pipeline.py)
    registered as `tagger` (image-level scores from a centre crop, no boxes) with one candidate `tag1`. Returns a copy
    of the run folder (links to the run's files, its own results.json naming tag1), the session's run unchanged."""
    import json
    from dataclasses import replace

    import fake_pipeline as FP  # noqa: N812 - tests/ is on sys.path (pytest's rootdir-relative import)

    from benchmarks.record import load_results
    from benchmarks.registry import pipelines

    tagger = replace(pipelines.PIPELINES["classifier"], name="tagger", module=FP.__name__, title="Tagger")
    monkeypatch.setitem(pipelines.PIPELINES, "tagger", tagger)
    results = load_results(run_dir)
    copy = tmp_path / "runs" / run_dir.name
    copy.mkdir(parents=True)
    for item in run_dir.iterdir():
        if item.name != "results.json":
            (copy / item.name).symlink_to(item, target_is_directory=item.is_dir())
    FP.fit([], [], results["data"]["classes"], FP.FakeConfig(), copy / "tagger" / "tag1")
    results["models"]["tag1"] = {"pipeline": "tagger", "artifact": "tagger/tag1"}
    (copy / "results.json").write_text(json.dumps(results))
    return copy
