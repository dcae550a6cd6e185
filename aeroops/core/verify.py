"""Verify a backup archive in one streaming pass, without extracting anything.

`verify_archive_stream` reads the tar once, in 1 MiB chunks, and keeps nothing but the two
manifests (capped in size), one CRC per member and the WAL's running sequence: memory stays
bounded whatever the archive's size. It reports every finding, not only the first, each with the
member it concerns, its byte offset **in the archive file** and, for the WAL, the sequence
number. The verdict is a value, `VerifyReport`; views (text, JSON, DataFrame) render it.

After damage to the tar layer itself the member boundaries are lost, so verification stops
there (and says what it could not check); after damage inside a member's contents it carries
on with the next member. In the WAL, framing damage (length, checksum, type, torn tail) is
reported once, as no record boundary can be trusted after it, while each sequence gap or
repeat is reported and reading goes on.

Finding codes (from the catalogue, `aeroops.errors.Code`; a test keeps this table in step):

=============================  ========  ==========================================================
code                           severity  meaning
=============================  ========  ==========================================================
AERO_TAR_CHECKSUM              ERROR     a header's checksum does not match its bytes
AERO_TAR_HEADER                ERROR     a header field is malformed, or a lone zero block
AERO_TAR_TRUNCATED             ERROR     the archive ends inside a header, data or end blocks
AERO_TAR_MEMBER_TOO_LARGE      ERROR     a member declares more bytes than allowed
AERO_VERIFY_STOPPED            INFO      what could not be checked after tar damage
AERO_VERIFY_TRAILING_DATA      ERROR     non-zero bytes after the end-of-archive blocks
AERO_VERIFY_UNSAFE_MEMBER      ERROR     absolute name, ``..``, a link of any kind, a device, a
                                         FIFO, an entry type aeroops does not read (pax, sparse…),
                                         or setuid/setgid/sticky mode bits
AERO_VERIFY_UNEXPECTED_MEMBER  ERROR     a name DESIGN.md §3 does not list, or the wrong type
AERO_VERIFY_DUPLICATE_MEMBER   ERROR     a name seen twice (``snapshot`` and ``snapshot/`` are one)
AERO_VERIFY_MISSING_MEMBER     ERROR     a required member, or a schema file the manifest lists
AERO_VERIFY_NO_WAL_DIR         WARNING   no ``wal/`` member: AeroDB's own restore rejects the
                                         archive (AeroDB's backup writes such archives)
AERO_VERIFY_MEMBER_ORDER       WARNING   members out of sorted order (inventory reads only the first)
AERO_VERIFY_MANIFEST           ERROR     a manifest does not parse, is too large, or disagrees
                                         (format_version, backup_id ≠ snapshot_id, snapshot ids,
                                         wal_present against the members, commit_boundary)
AERO_VERIFY_MANIFEST_FORM      WARNING   a manifest means what it should but its bytes are not
                                         what AeroDB writes: it was edited after writing
AERO_VERIFY_CREATED_AT         WARNING   snapshot created_at is not the time its id names, or the
                                         backup claims to be older than its snapshot
AERO_VERIFY_CHECKSUM           ERROR     storage.dat or a schema file differs from its manifest CRC
AERO_VERIFY_SCHEMA_UNLISTED    ERROR     a schema file the snapshot manifest does not list (nor the
                                         backup manifest's ``aeroops_added_schemas``)
AERO_VERIFY_SCHEMA_MISSING     ERROR     live storage records or WAL inserts/updates name a schema no
                                         schema file of the archive defines: a restore fails to boot
                                         (storage), or boots once and then fails (WAL only), with
                                         AeroDB's AERO_RECOVERY_SCHEMA_MISSING
AERO_WAL_LENGTH                ERROR     WAL framing: impossible record length (reading stops)
AERO_WAL_CHECKSUM              ERROR     WAL framing: record CRC mismatch (reading stops)
AERO_WAL_TORN_TAIL             ERROR     WAL framing: the log ends inside a record (reading stops)
AERO_WAL_TYPE                  ERROR     WAL: unknown record type (reading stops)
AERO_WAL_SEQUENCE              ERROR     WAL: first sequence not 1, a gap, or a repeat (per record)
AERO_WAL_PAYLOAD               ERROR     WAL payload does not decode (only when records are decoded,
                                         as `aeroops.core.inspect` does)
AERO_STORAGE_*                 ERROR     storage record damage (only when storage records are
                                         parsed, as `aeroops.core.inspect` does)
AERO_VERIFY_SIDECAR            ERROR     the archive's digest differs from its sidecar (``.b3``:
                                         BLAKE3, ``.sha256``: SHA-256), or the sidecar is malformed
                                         or names another file
AERO_VERIFY_NO_SIDECAR         WARNING   no sidecar beside the archive: changes that keep its meaning
                                         (padding, created_at) go unseen (`verify_archive`)
AERO_VERIFY_TOO_MANY           INFO      findings (past 1000 of a code, 5000 in all) or members (past
                                         10,000) were counted, not listed: how many
AERO_VERIFY_TOO_MANY_MEMBERS   ERROR     more than 10,000 members: later ones are checked alone, not
                                         against the others (duplicates, listed schema files)
AERO_VERIFY_IO                 FATAL     the archive cannot be read at all (`verify_archive`)
AERO_VERIFY_INTERNAL           FATAL     aeroops itself failed on the archive (a bug; logged with its
                                         traceback): `aeroops.executor.audit.verify_archive`'s net
=============================  ========  ==========================================================

What is left to the sidecar: changes that keep the archive's meaning identical (zero padding
after member data, equivalent spellings of a header checksum field, the backup manifest's
``created_at`` when it stays later than the snapshot) are invisible to the checks above; the
sidecar's digest (BLAKE3 or SHA-256, see `aeroops.formats.sidecar`) catches every change.

Storage records are not parsed here by default: the snapshot manifest's CRC of ``storage.dat``
covers every byte, and a per-record Python pass would cost several times the CRC. The WAL has
no whole-file checksum, so it is read record by record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import PurePath
from typing import BinaryIO

from aeroops.core.verify_findings import FINDINGS_PER_CODE
from aeroops.core.verify_pass import Verification
from aeroops.core.verify_readers import CountingReader
from aeroops.core.verify_report import (
    DataSink,
    DigestSink,
    MemberInfo,
    StorageSink,
    VerifyReport,
    WalSink,
)
from aeroops.errors import Code, Finding, FormatError, UsageError
from aeroops.formats.layers import Decrypt, LayerReader, NeedsIdentity, Opened, open_layers
from aeroops.formats.readable import Readable
from aeroops.formats.schemas import SchemaRef
from aeroops.formats.sidecar import DISPLAY_NAMES, format_digest, split_digest
from aeroops.progress import ProgressCallback


def verify_archive_stream(
    stream: BinaryIO,
    *,
    name: str,
    sidecar_digest: str | None = None,
    progress: ProgressCallback | None = None,
    total_bytes: int = 0,
    digest: DigestSink | None = None,
    extra_findings: Iterable[Finding] = (),
    wal_sink: WalSink | None = None,
    storage_sink: StorageSink | None = None,
    data_sink: DataSink | None = None,
    decrypt: Decrypt | None = None,
    readahead: Callable[[Readable], LayerReader] | None = None,
) -> VerifyReport:
    """Verify the archive read from ``stream`` (consumed to its end) and return the verdict.

    The stream may hold the tar inside zstd and age layers (`aeroops.formats.layers`, found by
    magic bytes): the digest covers the stored bytes, findings in the tar have offsets in the
    plain tar, findings of a layer offsets in that layer's input. decrypt: the age layer's
    reader, holding the identities (`aeroops.formats.layers.Decrypt`, from the shell: it runs on
    a thread); an encrypted archive without one is read to its end for the digest only, with an
    AERO_LAYER_UNOPENED warning (the caller adds what its record says).

    name: how reports call the archive. sidecar_digest: the tagged digest its sidecar claims
    (``blake3:<hex>`` or ``sha256:<hex>``), if any. total_bytes: the archive's size, for progress.
    digest: the sink every byte of the archive goes to, for the report's digest; the caller
    makes it (and owns any thread it hashes on). With a sidecar digest it must be one of the
    sidecar's algorithm, else `UsageError`, as the two digests could not be compared. Without a
    sidecar, none is needed: hashing costs more than the CRCs.
    extra_findings: findings the caller made before (an unreadable sidecar), kept in the report.
    wal_sink / storage_sink: called with each WAL record / storage record, for callers that
    summarise contents (inspect); a `FormatError` they raise becomes a finding. Giving a
    storage sink makes verification parse storage records too. data_sink: see `DataSink`
    (restore extracts with it, in the same pass); what it raises ends the verification.
    readahead: the read-ahead a layered archive's plain bytes go through (see `open_layers`).
    """
    claimed = None if sidecar_digest is None else split_digest(sidecar_digest)
    if claimed is not None and (digest is None or digest.algorithm != claimed[0]):
        given = "no digest" if digest is None else digest.algorithm
        raise UsageError(f"the sidecar's digest is {claimed[0]}, so it cannot be checked with {given}")
    reader = CountingReader(stream, name, digest, progress, total_bytes)
    verification = Verification(reader, wal_sink, storage_sink, data_sink)
    for finding in extra_findings:
        verification.findings.add(finding)
    opened: Opened | None = None
    unopened = False
    try:
        opened = open_layers(reader, decrypt=decrypt, name=PurePath(name).name, readahead=readahead)
    except NeedsIdentity:
        unopened = True
        verification.findings.new(
            Code.LAYER_UNOPENED,
            "the archive is encrypted and no identity was given: its contents were not checked, only its "
            "stored bytes (against the sidecar) and its creation record",
        )
        reader.drain()
    except FormatError as error:
        verification.findings.error(error, path=None)
        verification.findings.new(Code.VERIFY_STOPPED, "nothing inside this layer could be checked")
        reader.drain()
    if opened is not None:
        try:
            for finding in opened.findings:
                verification.findings.add(finding)
            verification.plain = opened.plain
            verification.stop_layers = opened.close
            verification.run()
        finally:
            opened.close()
    tagged = reader.tagged_digest()
    if claimed is not None and tagged is not None:
        algorithm, found = split_digest(tagged)
        if found != claimed[1]:
            verification.findings.add(
                Finding.of(
                    Code.VERIFY_SIDECAR,
                    f"the archive's {DISPLAY_NAMES[algorithm]} digest is {found}, its sidecar says {claimed[1]}",
                )
            )
    reader.report(final=True)
    return VerifyReport(
        archive=name,
        findings=verification.final_findings(),
        members=tuple(verification.members),
        members_not_kept=verification.members_not_kept,
        backup_manifest=verification.backup_manifest,
        snapshot_manifest=verification.snapshot_manifest,
        bytes_read=reader.count,
        wal_record_count=verification.wal_records,
        wal_first_sequence=verification.wal_first,
        wal_last_sequence=verification.wal_last,
        schema_definitions=tuple(sorted(verification.defined_schemas.items())),
        storage_schemas=frozenset(SchemaRef(*ref) for ref in verification.storage_schemas),
        wal_schemas=frozenset(SchemaRef(*ref) for ref in verification.wal_schemas),
        digest=tagged,
        sidecar_digest=None if claimed is None else format_digest(*claimed),
        layers=tuple(str(layer) for layer in (opened.layers if opened is not None else ("age",) if unopened else ())),
        opened=not unopened,
        plain_bytes=_plain_bytes(opened),
    )


def _plain_bytes(opened: Opened | None) -> int | None:
    if opened is None or not opened.layers:
        return None
    return int(getattr(opened._readers[-1], "bytes_out", 0))


__all__ = [
    "FINDINGS_PER_CODE",
    "DataSink",
    "DigestSink",
    "MemberInfo",
    "StorageSink",
    "VerifyReport",
    "WalSink",
    "verify_archive_stream",
]
