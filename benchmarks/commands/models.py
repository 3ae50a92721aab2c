"""`clsdet models`: what can be benchmarked on this machine, by pipeline.

Each pipeline lists its own models (its optional `model_catalog()`: classifier/catalog.py, detector/catalog.py);
this command prints them as tables or JSON. Nothing heavy is imported at module level.
"""

from __future__ import annotations

import json

from benchmarks.registry.pipelines import PIPELINES


def register(sub) -> None:
    p = sub.add_parser("models", help="list the models each pipeline can benchmark on this machine")
    p.add_argument("--pipeline", choices=list(PIPELINES), help="only this pipeline (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON ({pipeline: [rows]}) instead of tables")
    p.set_defaults(func=models_cmd)


def catalogs(wanted: list[str]) -> dict[str, dict]:
    """{pipeline: its model_catalog()} for the wanted pipelines that have one."""
    out = {}
    for name in wanted:
        fn = getattr(PIPELINES[name].package(), "model_catalog", None)
        if fn is not None:
            out[name] = fn()
    return out


def _millions(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f}M"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def render(cats: dict[str, dict]) -> str:
    parts = []
    for cat in cats.values():
        k = cat["header"].index("params") if "params" in cat["header"] else -1
        cells = [[_millions(v) if i == k else v for i, v in enumerate(row)] for row in cat["cells"]]
        parts.append(
            f"{cat['title']}\n" + _table(cat["header"], cells) + (f"\n{cat['footer']}" if cat["footer"] else "")
        )
    return "\n\n".join(parts)


def models_cmd(args) -> int:
    cats = catalogs([args.pipeline] if args.pipeline else list(PIPELINES))
    data = {name: cat["rows"] for name, cat in cats.items()}
    print(json.dumps(data, indent=2, default=str) if args.json else render(cats))
    return 0
