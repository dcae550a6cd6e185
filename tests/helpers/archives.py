"""Archives for the tests: AeroDB's fixture archives taken apart, archives rebuilt by hand from
their members (hostile ones included), backups of a data directory, and damaged bytes."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import blake3

from aeroops.core.verify import VerifyReport, verify_archive_stream
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.formats.sidecar import split_digest
from aeroops.formats.tar import BLOCK, END_OF_ARCHIVE, TarReader, member_header, padding
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record
from aeroops.hashing import Digest
from helpers.data import AERODB_FIXTURES

FIXTURE_ARCHIVES = ("backup-1000.tar", "backup-3snap.tar", "backup-nowal.tar")
T0 = datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC)  # `backup_of`'s created_at

# A member: (name, data), data None for a directory; or raw bytes put into the archive as they are.
Member = tuple[str, bytes | None]


def fixture_bytes(name: str) -> bytes:
    return (AERODB_FIXTURES / name).read_bytes()


def read_members(archive: bytes) -> list[Member]:
    tar = TarReader(io.BytesIO(archive))
    return [(e.name, None if e.type.name == "DIRECTORY" else tar.read_all(1 << 30)) for e in tar]


def header(
    name: str,
    size: int = 0,
    *,
    directory: bool = False,
    typeflag: bytes | None = None,
    linkname: str = "",
    mode: int | None = None,
) -> bytes:
    """One header block like AeroDB's, with fields a hostile archive would change patched in."""
    block = bytearray(member_header(name, size, directory=directory))
    assert len(block) == BLOCK, "long names are not needed here"
    if typeflag is not None:
        block[156:157] = typeflag
    if linkname:
        block[157:257] = linkname.encode().ljust(100, b"\x00")
    if mode is not None:
        block[100:108] = b"%07o\x00" % mode
    block[148:156] = b" " * 8
    block[148:156] = b"%07o\x00" % sum(block)
    return bytes(block)


def file_entry(name: str, data: bytes) -> bytes:
    return member_header(name, len(data)) + data + padding(len(data))


def build(members: Iterable[Member | bytes], *, end: bytes = END_OF_ARCHIVE) -> bytes:
    out = io.BytesIO()
    for member in members:
        if isinstance(member, bytes):
            out.write(member)
            continue
        name, data = member
        if data is None:
            out.write(member_header(name, directory=True))
        else:
            out.write(file_entry(name, data))
    out.write(end)
    return out.getvalue()


def replace_member(members: Sequence[Member], name: str, data: bytes | None) -> list[Member]:
    assert any(n == name for n, _ in members), name
    return [(n, data if n == name else d) for n, d in members]


def without(members: Sequence[Member], *names: str) -> list[Member]:
    return [(n, d) for n, d in members if n not in names]


def verify_bytes(
    archive: bytes, *, sidecar: str | None = None, compute_digest: str | None = None, **options: object
) -> VerifyReport:
    """``sidecar``: the tagged digest a sidecar would claim. ``compute_digest``: the algorithm of
    the digest sink handed to verification (default: the sidecar's, none without a sidecar), as
    `aeroops.executor.audit` hands one."""
    algorithm = compute_digest or (None if sidecar is None else split_digest(sidecar)[0])
    digest = None if algorithm is None else Digest(algorithm)  # type: ignore[arg-type]
    return verify_archive_stream(
        io.BytesIO(archive),
        name="test.tar",
        sidecar_digest=sidecar,
        digest=digest,
        **options,  # type: ignore[arg-type]
    )


# The sidecar algorithms as the tests know them, computed with the libraries themselves (not
# through aeroops): algorithm -> (sidecar suffix, hex digest of some bytes).
SIDECARS: dict[str, tuple[str, Callable[[bytes], str]]] = {
    "blake3": (".b3", lambda data: blake3.blake3(data).hexdigest()),
    "sha256": (".sha256", lambda data: hashlib.sha256(data).hexdigest()),
}


def hex_digest(algorithm: str, data: bytes) -> str:
    return SIDECARS[algorithm][1](data)


def tagged(algorithm: str, data: bytes) -> str:
    """The tagged digest, ``blake3:<hex>`` or ``sha256:<hex>``, of ``data``."""
    return f"{algorithm}:{hex_digest(algorithm, data)}"


def codes(report: VerifyReport) -> list[str]:
    return [f.code for f in report.findings]


def wal_log(sequences: Iterable[int], *, kinds: Iterable[WalType] | None = None) -> bytes:
    """A WAL with one record per sequence: inserts of users-<sequence> unless kinds say otherwise."""
    out = bytearray()
    kind_list = list(kinds) if kinds is not None else None
    for i, sequence in enumerate(sequences):
        kind = WalType.INSERT if kind_list is None else kind_list[i]
        body = b"" if kind == WalType.DELETE else b'{"n":%d}' % sequence
        change = DocumentChange("users", f"users-{sequence:06d}", "users", "v1", body)
        out += encode_wal_record(kind, sequence, encode_document_change(change))
    return bytes(out)


def backup_of(data_dir: Path, out: Path, *, sidecar: bool = True) -> Path:
    """An archive of ``data_dir`` made at `T0` in ``out``; ``sidecar=False`` removes its sidecar."""
    out.mkdir(exist_ok=True)
    archive = Path(run_backup(data_dir, out, created_at=T0, ops=REAL).archive)
    if not sidecar:
        Path(f"{archive}.b3").unlink()
    return archive


def member_spans(archive: Path) -> list[tuple[str, str, int, int, int]]:
    """(name, type, header offset, data offset, size) of every member of ``archive``."""
    with archive.open("rb") as stream:
        reader = TarReader(stream)
        return [(e.name, str(e.type), e.header_offset, e.data_offset, e.size) for e in reader]


def flip_byte(path: Path, offset: int) -> None:
    """Damage ``path`` in place: invert every bit of the byte at ``offset``."""
    with path.open("r+b") as stream:
        stream.seek(offset)
        byte = stream.read(1)
        stream.seek(offset)
        stream.write(bytes([byte[0] ^ 0xFF]))


def damage_storage(archive: Path) -> None:
    """Damage an archive of demo data inside snapshot/storage.dat: its CRC no longer matches."""
    flip_byte(archive, archive.read_bytes().index(b'"_id"'))
