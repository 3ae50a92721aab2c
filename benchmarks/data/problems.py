"""Problems found while reading data: every skip, clip and drop is counted here, with its file and the fix.

Severity:
- `fatal`: the run cannot go on (malformed export, unknown class, leak across splits); `data inspect` exits 1.
- `skip`: an item was left out (corrupt image, non-image file, zero-area box); counted and reported.
- `fix`: an item was changed (box clipped to the image); counted and reported.
- `warning`: worth a look, nothing changed (labels disagree between sources).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

SEVERITIES = ("fatal", "skip", "fix", "warning")


class DataError(Exception):
    """A fatal data problem, raised where going on makes no sense. The message names the file and the fix."""

    user_error = True


@dataclass
class Problem:
    severity: str
    kind: str  # short stable key, e.g. "corrupt_image", "box_clipped", "unknown_class"
    file: str
    message: str
    line: int | None = None  # line number, or None where the format has none
    fix: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} not in {SEVERITIES}")

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"[{self.severity}] {self.kind}: {where}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, severity: str, kind: str, file, message: str, line: int | None = None, fix: str = "") -> Problem:
        problem = Problem(severity, kind, str(file), message, line, fix)
        self.items.append(problem)
        return problem

    def extend(self, other: Problems) -> None:
        self.items.extend(other.items)

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "fatal"]

    def counts(self) -> dict[str, int]:
        """{kind: count}, what the run's record and `data inspect` report."""
        return dict(Counter(p.kind for p in self.items))

    def by_severity(self) -> dict[str, int]:
        return dict(Counter(p.severity for p in self.items))

    def raise_if_fatal(self) -> None:
        if self.fatal:
            lines = "\n  ".join(p.format() for p in self.fatal[:20])
            more = f"\n  ... and {len(self.fatal) - 20} more" if len(self.fatal) > 20 else ""
            raise DataError(f"{len(self.fatal)} fatal data problem(s):\n  {lines}{more}")

    def to_list(self) -> list[dict]:
        return [asdict(p) for p in self.items]

    @classmethod
    def from_list(cls, rows: list[dict]) -> Problems:
        return cls([Problem(**r) for r in rows])

    def __len__(self) -> int:
        return len(self.items)
