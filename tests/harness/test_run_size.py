"""run_size: the bytes of a run folder and its largest parts, as printed at the end of `clsdet bench`."""

from __future__ import annotations

from benchmarks.harness.run_size import fmt_bytes, run_size, run_size_line


def test_size_counts_files_and_names_the_largest_parts(tmp_path):
    (tmp_path / "classifier" / "sub").mkdir(parents=True)
    (tmp_path / "classifier" / "weights.pt").write_bytes(b"x" * 3_000_000)
    (tmp_path / "classifier" / "sub" / "a.json").write_bytes(b"x" * 500)
    (tmp_path / "detector").mkdir()
    (tmp_path / "detector" / "best.pt").write_bytes(b"x" * 1_200_000)
    (tmp_path / "results.json").write_bytes(b"x" * 2000)
    (tmp_path / "empty").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}_data.bin"
    outside.write_bytes(b"x" * 9_000_000)
    (tmp_path / "linked_data").symlink_to(outside)  # a linked data set is not the run's disk
    size = run_size(tmp_path)
    assert size["total_bytes"] == 3_000_500 + 1_200_000 + 2000
    assert list(size["parts"])[:3] == ["classifier", "detector", "results.json"]
    line = run_size_line(tmp_path)
    assert line.startswith("run folder: 4.2 MB (classifier 3.0 MB, detector 1.2 MB, results.json 2.0 kB, ...)")
    assert str(tmp_path) in line


def test_units():
    assert [fmt_bytes(n) for n in (12, 1500, 2_500_000, 3_200_000_000)] == ["12 B", "1.5 kB", "2.5 MB", "3.2 GB"]
