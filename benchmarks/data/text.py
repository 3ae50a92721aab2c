"""Text files people hand us (labels tables, class lists, YOLO label and list files, CVAT events CSVs): UTF-8, with
or without a byte-order mark. Anything else is refused with the file and how to convert it, instead of a
UnicodeDecodeError traceback (spreadsheets on Windows save "Unicode text" as UTF-16)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.data.problems import DataError

_BOMS = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}


def encoding_error(where: str, head: bytes, exc: UnicodeDecodeError | None = None) -> DataError:
    """The user error for text that is not UTF-8; `head` is the file's first bytes (to recognise UTF-16)."""
    kind = _BOMS.get(head[:2])
    if kind:
        what, source = f"is {kind} text", "UTF-16"
    else:
        at = f" (byte {exc.object[exc.start]:#04x} at offset {exc.start})" if exc is not None else ""
        what, source = f"is not UTF-8 text{at}", "<its encoding>"
    return DataError(
        f"{where} {what}; save it as UTF-8 (in a spreadsheet: 'CSV UTF-8'; or `iconv -f {source} -t UTF-8 "
        "FILE > FILE.utf8`) and point to the converted file"
    )


def decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")  # utf-8-sig: spreadsheet exports start with a BOM
    except UnicodeDecodeError as exc:
        raise encoding_error(where, data[:4], exc) from None


def read_text(path: str | Path) -> str:
    path = Path(path)
    return decode(path.read_bytes(), str(path))
