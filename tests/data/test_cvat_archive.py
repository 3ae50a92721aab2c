"""Export access: members that escape the export (zip slip, symlinks) are refused; nothing is written beside it."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from benchmarks.data.archive import Export, safe_join, safe_name
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceSpec, read_source

XML = (
    '<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version><meta><job><labels>'
    "<label><name>car</name></label></labels></job></meta>"
    '<image id="0" name="{name}" width="20" height="20"><box label="car" xtl="1" ytl="1" xbr="9" ybr="9"/></image>'
    "</annotations>"
)


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("images/a.jpg", "images/a.jpg"),
        ("./images//a.jpg", "images/a.jpg"),
        ("../a.jpg", None),
        ("images/../../a.jpg", None),
        ("/etc/passwd", None),
        ("C:/x.jpg", None),
        ("..\\..\\x.jpg", None),
    ],
)
def test_safe_name(name, clean):
    assert safe_name(name) == clean


def test_safe_join_checks_the_logical_path_not_a_link_target(tmp_path):
    # DVC / git-annex / `cp -s` trees are symlinks into a store elsewhere: the user's own links are followed;
    # only a name that escapes (absolute, `..`) is refused. Symlinks stored inside a zip stay refused (below).
    (tmp_path / "root").mkdir()
    (tmp_path / "store.jpg").write_bytes(b"x")
    (tmp_path / "root" / "link.jpg").symlink_to(tmp_path / "store.jpg")
    assert safe_join(tmp_path / "root", "link.jpg") == tmp_path / "root" / "link.jpg"
    assert safe_join(tmp_path / "root", "../store.jpg") is None
    assert safe_join(tmp_path / "root", "ok.jpg") == tmp_path / "root" / "ok.jpg"


def _zip_with(tmp_path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    dest = tmp_path / "export.zip"
    with zipfile.ZipFile(dest, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return dest


@pytest.mark.parametrize("evil", ["../../evil.jpg", "/tmp/evil.jpg", "images/../../evil.jpg"])
def test_zip_member_escaping_its_folder_is_refused(tmp_path, evil):
    export = _zip_with(tmp_path, {"annotations.xml": XML.format(name="a.jpg").encode(), evil: b"boom"})
    problems = Problems()
    result = read_source(SourceSpec("cvat", "cvat_xml", export), problems)
    (p,) = problems.fatal
    assert p.kind == "unsafe_path"
    assert p.file == str(export) and repr(evil) in p.message
    assert len(result.rows) == 1  # the rest of the export is still read, the run stops on the fatal problem
    assert not (tmp_path.parent / "evil.jpg").exists()


def test_zip_symlink_member_is_refused(tmp_path):
    export = _zip_with(tmp_path, {"annotations.xml": XML.format(name="a.jpg").encode()}, symlink="images/a.jpg")
    problems = Problems()
    with Export(export, problems) as ex:
        assert not ex.exists("images/a.jpg")
    assert [(p.kind, "'images/a.jpg'" in p.message) for p in problems.fatal] == [("unsafe_path", True)]


def test_image_name_escaping_the_image_folder_is_refused(tmp_path):
    (tmp_path / "e" / "images").mkdir(parents=True)
    (tmp_path / "e" / "annotations.xml").write_text(XML.format(name="../../outside.jpg"))
    problems = Problems()
    result = read_source(SourceSpec("cvat", "cvat_xml", tmp_path / "e"), problems)
    assert [p.kind for p in problems.fatal] == ["unsafe_path"]
    assert "outside.jpg" in problems.fatal[0].message
    assert result.rows == []


def test_zip_images_are_read_without_extracting_anything_but_images(tmp_path):
    Image.new("RGB", (20, 20), (5, 5, 5)).save(tmp_path / "a.jpg")
    export = _zip_with(
        tmp_path,
        {
            "task/annotations.xml": XML.format(name="a.jpg").encode(),  # wrapped in a top folder
            "task/images/a.jpg": (tmp_path / "a.jpg").read_bytes(),
            "task/images/unused.jpg": b"not listed",
        },
    )
    cache = tmp_path / "cache"
    problems = Problems()
    result = read_source(SourceSpec("cvat", "cvat_xml", export, None, {"cache_dir": str(cache)}), problems)
    assert not problems.items
    (row,) = result.rows
    assert row.path.is_relative_to(cache) and row.path.read_bytes() == (tmp_path / "a.jpg").read_bytes()
    assert row.where == f'{export}:task/annotations.xml <image id="0" name="a.jpg">'
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == ["a.jpg"]
