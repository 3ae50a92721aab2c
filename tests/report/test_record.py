"""results.json: atomic write, clear load errors, migrations, validation paths, append-only latency."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from benchmarks import record
from benchmarks.record import RecordError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results_example.json"


@pytest.fixture
def example() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    shutil.copy(FIXTURE, tmp_path / "results.json")
    return tmp_path


def test_fixture_is_valid(example):
    assert record.validate(example) == []


def test_write_then_load_roundtrip_without_temp_files(tmp_path, example):
    import numpy as np

    example["models"]["classifier"]["size"]["params"] = np.int64(7)
    example["models"]["classifier"]["accuracy"]["micro_f1"] = float("nan")
    path = record.write_results(tmp_path / "run", example)
    assert path == tmp_path / "run" / "results.json"
    back = record.load_results(tmp_path / "run")
    assert back["models"]["classifier"]["size"]["params"] == 7
    assert back["models"]["classifier"]["accuracy"]["micro_f1"] is None  # NaN is not JSON
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_load_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(RecordError, match=r"results.json not found.*clsdet bench"):
        record.load_results(tmp_path)


def test_load_other_schema_version(run_dir, example):
    example["schema_version"] = 99
    (run_dir / "results.json").write_text(json.dumps(example))
    with pytest.raises(RecordError, match="newer clsdet"):
        record.load_results(run_dir)
    example["schema_version"] = 0
    (run_dir / "results.json").write_text(json.dumps(example))
    with pytest.raises(RecordError, match=r"register_migration\(0\)"):
        record.load_results(run_dir)


def test_migration_hook_upgrades_old_documents(run_dir, example, monkeypatch):
    old = copy.deepcopy(example)
    old["schema_version"] = 0
    old["when"] = old.pop("created_utc")
    (run_dir / "results.json").write_text(json.dumps(old))

    def v0_to_v1(doc):
        doc["created_utc"] = doc.pop("when")
        return doc

    monkeypatch.setitem(record.MIGRATIONS, 0, v0_to_v1)
    got = record.load_results(run_dir)
    assert got["schema_version"] == record.SCHEMA_VERSION
    assert got["created_utc"] == example["created_utc"]


def test_v1_documents_read_as_one_candidate_per_pipeline(tmp_path):
    """schema 1 (one classifier, one detector keyed by pipeline) still renders: each becomes a candidate."""
    shutil.copy(FIXTURE.with_name("results_v1.json"), tmp_path / "results.json")
    got = record.load_results(tmp_path)
    assert got["schema_version"] == record.SCHEMA_VERSION and got["curve"] is None
    for name, method in (("classifier", "folder_sort"), ("detector", "cvat")):
        m = got["models"][name]
        assert (m["pipeline"], m["labeling_method"], m["name"]) == (name, method, name)
        assert all(r["pipeline"] == name for r in m["latency"])
    assert m["architecture"] == "yolo11n"
    assert record.validate(got) == []


def test_validate_names_key_paths(example):
    del example["machine"]["hostname"]
    del example["models"]["detector"]["accuracy"]["macro_ap_ci95"]
    del example["models"]["classifier"]["latency"][0]["latency_ms_p50"]
    del example["models"]["classifier"]["latency"][4]["device"]  # the mps 'unavailable' record
    del example["labeling"]["cvat"]["source"]
    problems = record.validate(example)
    assert "machine.hostname: missing" in problems
    assert "models.detector.accuracy.macro_ap_ci95: missing" in problems
    assert "models.classifier.latency[0].latency_ms_p50: missing" in problems
    assert "models.classifier.latency[4].device: missing" in problems
    assert "labeling.cvat.source: missing" in problems
    assert len(problems) == 5
    assert record.validate([]) == ["<top level>: expected an object, got list"]


def test_append_latency_never_overwrites(run_dir, example):
    before = example["models"]["detector"]["latency"]
    again = dict(before[0], latency_ms_p50=1.0, measured_utc="2027-01-01T00:00:00Z")
    other = dict(before[0], machine_id="m-new", hostname="laptop", device="mps", latency_ms_p50=3.0)
    record.append_latency(run_dir, "detector", [again, other])
    after = record.load_results(run_dir)["models"]["detector"]["latency"]
    assert after[: len(before)] == before
    assert after[len(before) :] == [again, other]
    cells = record.newest_per_cell(after)
    same = [c for c in cells if c["machine_id"] == before[0]["machine_id"] and c["device"] == "cpu"]
    first = [c for c in same if c["batch_size"] == 1 and c["scope"] == "model"]
    assert len(first) == 1
    assert first[0]["latency_ms_p50"] == 1.0  # newest shown ...
    assert first[0]["n_measurements"] == 3  # ... with the count (fixture already measured this cell twice)


def test_append_latency_unknown_model(run_dir):
    with pytest.raises(RecordError, match="models in this run: classifier, detector"):
        record.append_latency(run_dir, "segmenter", [{"device": "cpu"}])


def test_rewrite_keeps_appended_records(run_dir, example):
    """The harness rewriting results.json (e.g. on resume) must not drop another machine's records."""
    first = example["models"]["classifier"]["latency"][0]
    extra = dict(first, machine_id="m-late", measured_utc="2027-02-02T00:00:00Z")
    record.append_latency(run_dir, "classifier", [extra])
    stale = copy.deepcopy(example)
    stale["models"]["classifier"]["latency"] = stale["models"]["classifier"]["latency"][:2]
    record.write_results(run_dir, stale)
    recs = record.load_results(run_dir)["models"]["classifier"]["latency"]
    assert len(recs) == len(example["models"]["classifier"]["latency"]) + 1
    assert extra in recs


def test_new_run_id():
    a, b = record.new_run_id("my demo/run"), record.new_run_id("my demo/run")
    assert re.fullmatch(r"\d{8}T\d{6}Z-my-demo-run-[0-9a-f]{6}", a)
    assert a != b


@pytest.mark.parametrize("where", ["write", "fsync", "mkstemp"])
def test_disk_full_names_the_file_and_leaves_the_old_one_whole(tmp_path, monkeypatch, where):
    import errno
    import os
    import tempfile

    path = record.write_json(tmp_path / "status.json", {"status": "done"})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "write":  # what a small tmpfs gives (issue: `--out` on a full disk)
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _Full(real_fdopen(fd, *a, **k), full))
    else:
        monkeypatch.setattr(os if where == "fsync" else tempfile, where, full)
    with pytest.raises(record.DiskFullError, match=r"^disk full writing .*status.json: [\d.]+ MB free on that disk; "
                       r"free space .*then run the same command with --resume") as info:  # fmt: skip
        record.write_json(path, {"status": "failed"})
    assert info.value.user_error and info.value.errno == errno.ENOSPC
    assert json.loads(path.read_text()) == {"status": "done"}  # the old file, whole: --resume can trust it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]  # no temp file left behind


class _Full:
    """A file object whose write fails as a full disk does."""

    def __init__(self, f, fail):
        self.f, self.fail = f, fail

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, text):
        self.fail()
