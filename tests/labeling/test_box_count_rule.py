"""One counting rule on both sides of the per-box rate: the boxes a CVAT log divides its time by are the boxes the
project's reader puts in the manifest, which the harness multiplies the rate by (masks and polygons included)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from benchmarks.data.inspect import run_inspect
from benchmarks.labeling.cvat_export import count_export

XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version>
 <meta><job><id>4</id><labels><label><name>cat</name></label><label><name>dog</name></label></labels></job></meta>
 <image id="0" name="a.png" width="64" height="48">
  <box label="cat" xtl="1" ytl="2" xbr="30" ybr="40"/>
  <mask label="dog" rle="3, 4, 5" left="10" top="10" width="8" height="6"/>
  <tag label="cat"/>
 </image>
 <image id="1" name="b.png" width="64" height="48">
  <polygon label="dog" points="1,1;20,1;20,20"/>
  <ellipse label="cat" cx="30" cy="20" rx="5" ry="4"/>
  <polygon label="cat" points="oops"/>
 </image>
</annotations>
"""


def test_export_box_count_equals_manifest_boxes(tmp_path):
    path = tmp_path / "job_4.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("annotations.xml", XML)
        for name in ("a.png", "b.png"):
            png = io.BytesIO()
            Image.new("RGB", (64, 48), (len(name) * 40, 90, 10)).save(png, format="PNG")
            z.writestr(f"images/{name}", png.getvalue())
    counts = count_export(path)
    _, manifest = run_inspect(path, cache_dir=tmp_path / "cache")
    in_manifest = sum(len(r.boxes.get("data", [])) for r in manifest.images)  # what harness stage_labeling counts
    assert counts.n_boxes == in_manifest == 4  # box, mask, polygon, ellipse; the bad polygon is in neither
    assert counts.other_shapes == {"mask": 1, "polygon": 2, "ellipse": 1} and counts.unboxed_shapes == 1
    assert counts.n_tags == 1 and counts.job_ids == {"4"}
