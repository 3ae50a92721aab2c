"""Render report blocks (document.py) as one self-contained HTML file: inline CSS, plots as base64 PNG data URIs,
no external assets (it opens offline and can be mailed as one file)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}h3{margin-top:1.3em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:13px}
.na{color:#a33;font-style:italic}code{background:#f3f3f3;padding:0 3px}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def render(blocks: list[tuple], title: str) -> str:
    body: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3", "p"):
            body.append(f"<{kind}>{html.escape(block[1])}</{kind}>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            body.append(block[1].to_html(index=False, escape=True, border=0, na_rep="n/a"))
        elif kind == "plot":
            _, name, target, caption = block
            if isinstance(target, Path) and target.is_file():
                body.append(f"<figure>{_img(target)}<figcaption>{html.escape(caption)}</figcaption></figure>")
            else:
                body.append(f'<p class="na">{html.escape(name)}: n/a ({html.escape(str(target or "not drawn"))})</p>')
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
