"""Render report blocks (document.py) as Markdown; plots are linked as `plots/<name>.png` beside report.md."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured pipe table (pandas' to_markdown via tabulate, or a plain fallback without it)."""
    df = df.map(_cell)
    df.columns = [_cell(c) for c in df.columns]
    try:
        return df.to_markdown(index=False)
    except ImportError:  # tabulate missing: the same table, unaligned
        lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
        lines += ["| " + " | ".join(row) + " |" for row in df.itertuples(index=False)]
        return "\n".join(lines)


def render(blocks: list[tuple], run_dir: Path) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + block[1])
        elif kind == "p":
            out.append(block[1])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            out.append(table(block[1]))
        elif kind == "plot":
            _, name, target, caption = block
            if isinstance(target, Path):
                rel = target.relative_to(run_dir).as_posix() if target.is_relative_to(run_dir) else str(target)
                out.append(f"![{name}]({rel})\n\n*{caption}*")
            else:
                out.append(f"*{name}: n/a ({target or 'not drawn'})*")
    return "\n\n".join(out) + "\n"
