"""S3 object bodies as content-addressed files (``blobs/ab/<sha256>``), and the lazy buffer that lets a
restored moto key read its body from there instead of memory."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from pathlib import Path


class Blobs:
    """Write-once files named by the SHA-256 of their bytes: identical bodies are stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes, synced_dirs: set[Path]) -> str:
        """The digest of ``data``, its file written (tmp, fsync, rename) unless it already exists; the
        folders to fsync once the batch is written go into ``synced_dirs``."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{digest[:16]}-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        synced_dirs.add(path.parent)
        return digest

    @staticmethod
    def sync(dirs: set[Path]) -> None:
        for directory in dirs:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def present(self) -> set[str]:
        """The digests of every body on disk (one listing per subfolder, no stat)."""
        if not self.root.is_dir():
            return set()
        return {
            entry.name
            for sub in os.scandir(self.root)
            if sub.is_dir()
            for entry in os.scandir(sub.path)
            if not entry.name.startswith(".")
        }

    def remove_unreferenced(self, referenced: set[str]) -> int:
        """Bodies no object points to any more (and temporary files a crash left); after a good start only."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for sub in os.scandir(self.root):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                if entry.name not in referenced:
                    os.unlink(entry.path)
                    removed += 1
        return removed


class BlobBuffer:
    """The file-like body of a restored moto ``FakeKey``: reads come from the blob file (nothing is held
    in memory); a write (moto replacing the value) switches it to memory, as moto's own buffer is."""

    def __init__(self, path: str | Path, digest: str, size: int) -> None:
        self.path, self.digest, self.size = path, digest, size
        self._pos = 0
        self._mem: io.BytesIO | None = None
        self.closed = False

    @property
    def on_disk(self) -> bool:
        return self._mem is None

    def seek(self, pos: int, whence: int = 0) -> int:
        if self._mem is not None:
            return self._mem.seek(pos, whence)
        base = {0: 0, 1: self._pos, 2: self.size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._mem.tell() if self._mem is not None else self._pos

    def read(self, n: int = -1) -> bytes:
        if self._mem is not None:
            return self._mem.read(n)
        with open(self.path, "rb") as body:
            body.seek(self._pos)
            data = body.read(n if n is not None and n >= 0 else -1)
        self._pos += len(data)
        return data

    def _to_memory(self) -> io.BytesIO:
        if self._mem is None:
            pos = self._pos
            self._pos = 0
            self._mem = io.BytesIO(self.read())
            self._mem.seek(pos)
        return self._mem

    def truncate(self, size: int | None = None) -> int:
        return self._to_memory().truncate(size)

    def write(self, data: bytes) -> int:
        return self._to_memory().write(data)

    def close(self) -> None:
        self.closed = True
