"""How much disk a run folder takes, and what takes it: said at the end of every `clsdet bench`, so a run that grows
(kept checkpoints, a big data cache) is seen at once rather than when the disk fills."""

from __future__ import annotations

from pathlib import Path


def folder_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (symlinks are not followed: a linked data set is not the run's)."""
    path = Path(path)
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def fmt_bytes(n: int) -> str:
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def run_size(run_dir: Path) -> dict:
    """{"total_bytes": n, "parts": {top-level entry: bytes}} with the parts largest first."""
    run_dir = Path(run_dir)
    parts = {p.name: folder_bytes(p) for p in run_dir.iterdir()} if run_dir.is_dir() else {}
    parts = dict(sorted(parts.items(), key=lambda kv: (-kv[1], kv[0])))
    return {"total_bytes": sum(parts.values()), "parts": parts}


def run_size_line(run_dir: Path, top: int = 3) -> str:
    """`run folder: 42.1 MB (classifier 30.2 MB, detector 9.9 MB, detector_data 1.5 MB, ...)`."""
    size = run_size(run_dir)
    big = [f"{name} {fmt_bytes(n)}" for name, n in list(size["parts"].items())[:top] if n]
    more = ", ..." if len(size["parts"]) > top else ""
    detail = f" ({', '.join(big)}{more})" if big else ""
    return f"run folder: {fmt_bytes(size['total_bytes'])}{detail}  {Path(run_dir)}"
