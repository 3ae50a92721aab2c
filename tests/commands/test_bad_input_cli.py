"""Bad input through the CLI entry: one `error:` line naming the file and the fix, exit 2, never a traceback
Each case was a traceback or a misleading message before."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from PIL import Image

from benchmarks.cli import main


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("annotations.xml", "<annotations>" + "<image/>" * 2000 + "</annotations>")
    return buf.getvalue()


def _damaged_zip() -> bytes:
    """A zip whose directory is intact but whose member's deflate data is not (corrupted in the middle)."""
    meta = "<meta><job><id>1</id><labels><label><name>a</name></label></labels></job></meta>"
    xml = f"<annotations>{meta}" + '<image id="0" name="a.jpg" width="2" height="2"/>' * 300 + "</annotations>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("annotations.xml", xml)
    data = bytearray(buf.getvalue())
    start = data.index(b"annotations.xml") + len("annotations.xml") + 40
    data[start : start + 60] = bytes(b ^ 0x5A for b in data[start : start + 60])
    return bytes(data)


def _files(tmp_path):
    (tmp_path / "notzip.zip").write_bytes(b"PK? this is an HTML error page, not a zip")
    (tmp_path / "damaged.zip").write_bytes(_damaged_zip())
    (tmp_path / "truncated.zip").write_bytes(_zip_bytes()[:300])
    (tmp_path / "labels.txt").write_bytes("# image cat dog\na.jpg 1 0\n".encode("utf-16"))
    (tmp_path / "logs_utf16.csv").write_bytes("scope,source,timestamp\nload:job,client,x\n".encode("utf-16"))
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "comments.yaml").write_text("# a config, one day\n\n# name: x\n")
    meta = "<meta><job><id>1</id>{}<labels><label><name>a</name></label></labels></job></meta>"
    image = '<image id="0" name="a.jpg" width="2" height="2"/>'
    for name, dates in (("nodates", ""), ("baddate", "<created>yesterday</created>")):
        (tmp_path / f"{name}.xml").write_text(
            f"<annotations><version>1.1</version>{meta.format(dates)}{image}</annotations>"
        )
    for run, data in (("latin1", '{"name": "café"}'.encode("latin-1")), ("notjson", b"<html>502 Bad Gateway</html>")):
        (tmp_path / run).mkdir()
        (tmp_path / run / "results.json").write_bytes(data)


CASES = [  # (argv after `clsdet`, the file the message must name, words of the fix)
    (["data", "inspect", "{t}/notzip.zip"], "notzip.zip", "not a readable zip archive"),
    (["data", "inspect", "{t}/truncated.zip"], "truncated.zip", "export it again"),
    (["data", "inspect", "{t}/damaged.zip"], "damaged.zip:annotations.xml", "is damaged inside the zip"),
    (["label", "import-cvat", "--annotations", "{t}/damaged.zip"], "damaged.zip:annotations.xml", "export it again"),
    (["data", "inspect", "{t}/labels.txt"], "labels.txt", "UTF-16 (little-endian) text; save it as UTF-8"),
    (["data", "inspect", "{t}/empty.yaml"], "empty.yaml", "needs `name`, `classes` and `sources`"),
    (["data", "inspect", "{t}/comments.yaml"], "comments.yaml", "is empty (nothing but comments"),
    (["data", "inspect", "{t}/no_such_folder"], "no_such_folder", "does not exist"),
    (["data", "inspect", "{t}/no_such.yaml"], "no_such.yaml", "does not exist"),
    (["bench", "{t}/comments.yaml", "--out", "{t}/runs"], "comments.yaml", "is empty"),
    (["label", "import-cvat", "{t}/no_such.csv"], "no_such.csv", "Export events"),
    (["label", "import-cvat", "{t}/logs_utf16.csv"], "logs_utf16.csv", "save it as UTF-8"),
    (["label", "import-cvat", "--annotations", "{t}/no_such.xml"], "no_such.xml", "does not exist"),
    (["label", "import-cvat", "--annotations", "{t}/notzip.zip"], "notzip.zip", "not a readable zip archive"),
    (["label", "import-cvat", "--annotations", "{t}/nodates.xml"], "nodates.xml", "give the events CSV"),
    (["label", "import-cvat", "--annotations", "{t}/baddate.xml"], "baddate.xml", "<created>yesterday</created>"),
    (["label", "import-cvat"], "events CSV (logs_*.csv)", "--annotations EXPORT, or both"),
    (["label", "watch", "{t}/no_such_tree"], "no_such_tree", "create it with one folder per class"),
    (["report", "{t}/latin1"], "latin1/results.json", "not UTF-8 text (byte 0xe9 at offset 13)"),
    (["predict", "{t}/latin1", "{t}/empty.yaml"], "latin1/results.json", "not UTF-8 text"),
    (["report", "{t}/notjson"], "notjson/results.json", "not valid JSON (line 1, column 1"),
    (["predict", "{t}/notjson", "{t}/empty.yaml"], "notjson/results.json", "not valid JSON"),
    (["cvat", "pull", "--url", "http://127.0.0.1:99999", "--task-id", "1", "--out", "{t}/o"], "99999", "1 to 65535"),
]


@pytest.mark.parametrize(("argv", "names", "fix"), CASES, ids=[f"{' '.join(c[0][:2])} {c[1]}" for c in CASES])
def test_bad_input_is_one_error_line(argv, names, fix, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", "tok-not-used")
    _files(tmp_path)
    argv = [a.format(t=tmp_path) for a in argv]
    if argv[0] == "label":
        argv += ["--log-dir", str(tmp_path / "logs")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert names in err[0] and fix in err[0], err[0]
    assert not (tmp_path / "logs").exists()  # nothing written on a refused input


def test_folder_with_clsdet_yaml_is_read_as_the_config(tmp_path, capsys):
    for rel in ("sorted/cat/a.png", "sorted/dog/b.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (len(rel) * 9, 0, 0)).save(tmp_path / rel)
    (tmp_path / "clsdet.yaml").write_text(
        "name: pets\nclasses: [cat, dog]\nsources:\n  f: {reader: folders, path: sorted}\nlabels: {classifier: f}\n"
    )
    (tmp_path / "data.yaml").write_text("names: [x]\n")  # a YOLO-looking file beside it must not win
    assert main(["data", "inspect", str(tmp_path), "--save", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert f"reading the benchmark config {tmp_path / 'clsdet.yaml'}" in out
    assert json.loads((tmp_path / "m.json").read_text())["classes"] == ["cat", "dog"]


def test_truncated_weights_are_a_user_error_naming_the_file(tmp_path):
    import torch

    import classifier
    import detector

    good = io.BytesIO()
    torch.save({"w": torch.zeros(64)}, good)
    for load, weights in ((classifier.load, "weights.pt"), (detector.load, "weights/best.pt")):
        art = tmp_path / load.__module__
        (art / weights).parent.mkdir(parents=True)
        for name, doc in (("config.json", {"backbone": "resnet18"}), ("classes.json", ["cat"]),
                          ("thresholds.json", {"thresholds": {"cat": 0.5}}), ("normalization.json", {})):  # fmt: skip
            (art / name).write_text(json.dumps(doc))
        (art / weights).write_bytes(good.getvalue()[:200])
        with pytest.raises(Exception, match="cannot be read") as info:
            load(art)
        assert getattr(info.value, "user_error", False) and str(art / weights) in str(info.value)
        assert "copy the artifact folder again, or re-run training" in str(info.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["cvat", "pull", "--url", "http://x", "--task-id", "1", "--out", "o", "--poll-s", "-1"],
        ["cvat", "pull", "--url", "http://x", "--task-id", "1", "--out", "o", "--timeout-s", "0"],
        ["cvat", "pull", "--url", "http://x", "--task-id", "1", "--out", "o", "--retries", "-2"],
        ["label", "watch", "d", "--pause-threshold-s", "0"],
    ],
)
def test_bad_numbers_fail_at_parse_time(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and f"argument {argv[-2]}: '{argv[-1]}'" in capsys.readouterr().err
