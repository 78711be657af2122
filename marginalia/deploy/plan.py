"""What a deploy must do: the files of site/ whose bytes the bucket does not hold yet, in
upload order, and the objects no file of site/ claims any more.

Files are compared by MD5 with the ETag the bucket lists for each object: for an object
written by one PUT (deploy never uploads in parts) S3, R2, B2 and MinIO give the MD5 of
its bytes as its ETag, so one listing (a request per 1,000 objects) tells every changed
file without reading an object's metadata. An object whose ETag is not its MD5 (uploaded
in parts by another tool, or encrypted with SSE-KMS) is simply uploaded again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..output import SiteFiles
from .headers import Phase, Stored, stored_as


@dataclass(frozen=True)
class LocalFile:
    path: Path
    md5: str  # hex
    size: int


@dataclass(frozen=True)
class Upload:
    rel: str
    file: LocalFile
    stored: Stored
    new: bool  # not in the bucket at all (else: its bytes changed)


@dataclass(frozen=True)
class Plan:
    uploads: list[Upload]  # in phase order, then by path
    deletes: list[str]  # relative to the prefix, sorted
    unchanged: int

    @property
    def upload_bytes(self) -> int:
        return sum(upload.file.size for upload in self.uploads)

    def phases(self) -> list[list[Upload]]:
        """The uploads, one list per phase: each must be up before the next starts."""
        return [
            [upload for upload in self.uploads if upload.stored.phase == phase]
            for phase in Phase
            if any(upload.stored.phase == phase for upload in self.uploads)
        ]


def _md5(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def local_files(site_dir: Path) -> dict[str, LocalFile]:
    """Every file of site/ (not its .git) by path relative to it, with its MD5."""
    found = {}
    for rel, entry in sorted(SiteFiles(site_dir).files.items()):
        path = Path(entry.path)
        found[rel] = LocalFile(path, _md5(path), entry.stat().st_size)
    return found


def make_plan(local: dict[str, LocalFile], remote: dict[str, str]) -> Plan:
    """`remote`: the bucket's ETag (lowercase, unquoted) of each key under the prefix."""
    uploads = [
        Upload(rel, file, stored_as(rel), new=rel not in remote)
        for rel, file in local.items()
        if remote.get(rel) != file.md5
    ]
    uploads.sort(key=lambda upload: (upload.stored.phase, upload.rel))
    deletes = sorted(set(remote) - set(local))
    return Plan(uploads, deletes, unchanged=len(local) - len(uploads))
