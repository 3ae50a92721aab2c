"""Read-only, path-safe access to an annotation export that is a zip file or a folder.

CVAT hands out exports as zips (annotations + optional images). Readers look members up by their path inside the
export and read them without extracting; only image files are ever written out, and only into a cache folder
(never beside the user's file), because the pipelines need real files to decode.

A member whose path would escape the export (an absolute path, a `..` part, a symlink stored in a zip, i.e. the
"zip slip" attack, CVE-2018-1002200 class) is refused with a fatal problem naming the export and the member.
In a folder, containment is checked on the logical path, not on a symlink's target: DVC, git-annex and `cp -s`
trees are all symlinks into a store elsewhere, and the user made those links, not the export.
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from benchmarks.data.problems import DataError, Problems
from detector.runtime import default_cache_dir as project_cache

UNSAFE_FIX = "re-export from CVAT, or unpack the archive yourself and check what it contains"
NOT_A_ZIP = (
    "{path} is not a readable zip archive (a truncated download, or another format); download or export it again "
    "from CVAT, or unpack it and pass the folder"
)


def safe_name(name: str) -> str | None:
    """The member path as a clean relative posix path, or None when it could escape the folder it lives in."""
    text = name.replace("\\", "/")  # zips written on Windows may use backslashes
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def safe_join(root: Path, name: str) -> Path | None:
    """root/name, or None when name is absolute or has `..`. A symlink under root is followed wherever it points:
    the logical path is inside root (see the module docstring)."""
    clean = safe_name(name)
    if clean is None:
        return None
    return Path(root) / clean


def default_cache_dir() -> Path:
    return project_cache() / "exports"


class Export:
    """An export (zip or folder) opened for reading. Use as a context manager; members are posix paths."""

    def __init__(self, path: Path, problems: Problems):
        self.path = Path(path)
        self.problems = problems
        self.is_zip = self.path.is_file() and zipfile.is_zipfile(self.path)
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, zipfile.ZipInfo] = {}
        if not self.path.exists():
            raise DataError(f"{self.path} does not exist; check the path (an export is a .zip or its unpacked folder)")
        if self.path.is_file() and not self.is_zip:
            raise DataError(NOT_A_ZIP.format(path=self.path))
        if self.is_zip:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:  # an end record but a broken directory: truncated mid-way
                raise DataError(NOT_A_ZIP.format(path=self.path) + f" ({exc})") from None
            for info in self._zip.infolist():
                clean = safe_name(info.filename)
                is_link = stat.S_ISLNK(info.external_attr >> 16)
                if clean is None or is_link:
                    why = "is a symlink" if is_link else "escapes the archive's folder"
                    self._refuse(info.filename, why)
                    continue
                if not info.is_dir():
                    self._members[clean] = info

    # --- context manager ---------------------------------------------------------------------------------------
    def __enter__(self) -> Export:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    # --- lookups ------------------------------------------------------------------------------------------------
    def _refuse(self, member: str, why: str) -> None:
        self.problems.add(
            "fatal", "unsafe_path", self.path, f"member {member!r} {why}; refused (nothing was read)", fix=UNSAFE_FIX
        )

    def where(self, name: str) -> str:
        """How messages name a member: `export.zip:annotations.xml` or the folder's file path."""
        return f"{self.path}:{name}" if self.is_zip else str(self.path / name)

    def _folder_path(self, name: str) -> Path | None:
        path = safe_join(self.path, name)
        if path is None:
            self._refuse(name, "escapes the export folder (absolute path, `..` or a symlink pointing outside)")
        return path

    def exists(self, name: str) -> bool:
        clean = safe_name(name)
        if clean is None:
            return False
        if self.is_zip:
            return clean in self._members
        path = self._folder_path(clean)
        return path is not None and path.is_file()

    def is_dir(self, name: str) -> bool:
        if name in ("", "."):
            return True
        clean = safe_name(name)
        if clean is None:
            return False
        if self.is_zip:
            return any(m.startswith(clean + "/") for m in self._members)
        path = safe_join(self.path, clean)
        return path is not None and path.is_dir()

    def names(self, pattern: str = "*") -> list[str]:
        """Members matching a glob pattern (fnmatch: `*` also crosses `/`), sorted."""
        if self.is_zip:
            return sorted(n for n in self._members if fnmatch.fnmatch(n, pattern))
        found = []
        for p in self.path.glob(pattern):
            rel = p.relative_to(self.path).as_posix()
            if p.is_file() and self._folder_path(rel) is not None:
                found.append(rel)
        return sorted(found)

    def find(self, filename: str) -> str | None:
        """The shallowest member called `filename` (zips sometimes wrap everything in a top folder)."""
        if self.exists(filename):
            return filename
        hits = [n for n in self.names(f"**/{filename}") + self.names(filename) if PurePosixPath(n).name == filename]
        return min(hits, key=lambda n: (n.count("/"), n)) if hits else None

    def open(self, name: str) -> BinaryIO:
        if self.is_zip:
            return _Checked(self._zip.open(self._members[name]), self.where(name))
        path = self._folder_path(name)
        if path is None:
            raise FileNotFoundError(f"{self.where(name)} refused: escapes the export folder")
        return open(path, "rb")

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    # --- files for the pipelines --------------------------------------------------------------------------------
    def cache_folder(self, cache_dir: Path | None) -> Path:
        """Where this zip's images are extracted: keyed by the zip's path, size and mtime, so a changed zip gets
        a fresh folder and an unchanged one is reused (the builder's hash cache then skips re-decoding)."""
        st = self.path.stat()
        key = hashlib.sha1(f"{self.path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
        return Path(cache_dir or default_cache_dir()) / f"{self.path.stem}-{key}"

    def file_path(self, name: str, cache_dir: Path | None = None) -> Path | None:
        """A real file for member `name`: the folder's own file, or the zip member extracted into the cache.
        None when the member is absent (or unsafe)."""
        clean = safe_name(name)
        if clean is None:
            return None
        if not self.is_zip:
            path = self._folder_path(clean)
            return path if path is not None and path.is_file() else None
        info = self._members.get(clean)
        if info is None:
            return None
        target = self.cache_folder(cache_dir) / clean
        if not (target.is_file() and target.stat().st_size == info.file_size):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            with _Checked(self._zip.open(info), self.where(clean)) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(target)
        return target


class _Checked:
    """A zip member's stream whose damage (bad CRC, broken deflate data: a zip cut or corrupted in the middle while
    its directory survived) is a DataError naming the member, not a zlib traceback from deep inside a reader."""

    def __init__(self, stream: BinaryIO, where: str):
        self._stream, self._where = stream, where

    def read(self, n: int = -1) -> bytes:
        try:
            return self._stream.read(n)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise DataError(
                f"{self._where} is damaged inside the zip ({exc}); download or export it again from CVAT"
            ) from None

    def close(self) -> None:
        self._stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ImageFinder:
    """Where an export's image files are: the config's `images:` folder when given, else the export's own image
    folder (`subdir`), extracted from a zip into the cache on demand."""

    def __init__(self, export: Export, images: Path | None, subdir: str, cache_dir: Path | None, problems: Problems):
        self.export, self.images, self.subdir, self.cache_dir = export, images, subdir.strip("/"), cache_dir
        if images is not None and not Path(images).is_dir():
            problems.add(
                "warning",
                "images_not_found",
                images,
                "the `images:` folder does not exist; every image will be counted missing",
                fix="set `images:` to the folder holding the image files",
            )
        elif images is None and not export.is_dir(self.subdir):
            problems.add(
                "warning",
                "images_not_found",
                export.path,
                f"the export has no {self.subdir}/ folder and no `images:` folder is given; "
                "every image will be counted missing",
                fix="export with 'Save images' on, or set `images:` to the folder holding the image files",
            )
        self.problems = problems
        self._by_basename: dict[Path, set[str]] = {}  # flat-folder file -> the different names that fell back to it

    def _member(self, name: str) -> str:
        return f"{self.subdir}/{name}" if self.subdir else name

    def path(self, candidates: list[str]) -> Path | None:
        """The first candidate name (relative to the image folder) that exists; else where the first one should
        be, so the builder counts it as missing with a useful path. None when a name escapes the folder."""
        if any(safe_name(c) is None for c in candidates):
            return None
        if self.images is not None:
            paths = [safe_join(self.images, c) for c in candidates]
            if any(p is None for p in paths):
                return None
            found = next((p for p in paths if p.is_file()), None)
            if found is None:
                # `frames/img1.jpg` against a flat image folder (a task made from a folder, images copied flat)
                for c in candidates:
                    flat = Path(self.images) / PurePosixPath(safe_name(c)).name
                    if flat.is_file():
                        self._by_basename.setdefault(flat, set()).add(candidates[0])
                        return flat
            return found or paths[0]
        for c in candidates:
            found = self.export.file_path(self._member(c), self.cache_dir)
            if found is not None:
                return found
        first = self._member(candidates[0])
        return Path(self.export.where(first)) if self.export.is_zip else self.export.path / first

    def drop_ambiguous(self, rows: list) -> list:
        """`rows` without those whose image was found by file name only when different names (`day/img1.jpg`,
        `night/img1.jpg`) fell back to the same flat file: that file is one of them, and nothing says which."""
        clash = {p: names for p, names in self._by_basename.items() if len(names) > 1}
        kept = []
        for row in rows:
            names = clash.get(Path(row.path))
            if names is None:
                kept.append(row)
                continue
            self.problems.add(
                "skip",
                "ambiguous_image_name",
                row.where or row.path,
                f"found only by its file name {Path(row.path).name!r}, which {len(names)} different image names "
                f"share ({', '.join(sorted(names))}); skipped",
                fix="set `images:` to a folder that keeps the export's sub-folders",
            )
        return kept


def open_export(path: Path, problems: Problems) -> Export:
    return Export(path, problems)
