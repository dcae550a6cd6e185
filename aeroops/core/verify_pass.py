"""The verification pass: one read of the tar, member by member, each checked against the
layout as it streams by (manifests parsed, the WAL read record by record, storage and schema
files CRC'd), then the whole-archive checks of `aeroops.core.verify_checks`. The pass keeps
what it has read in bounded memory (see the caps below) and its findings in a `Findings`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from aeroops.core.verify_checks import (
    check_checksums,
    check_completeness,
    check_manifests,
    check_schemas,
    kind,
    normalised,
    schema_file,
    sequence_problem,
    unsafe_reasons,
)
from aeroops.core.verify_findings import Findings
from aeroops.core.verify_readers import CountingReader, MemberReader, TarBroken
from aeroops.core.verify_report import DataSink, MemberInfo, StorageSink, WalSink
from aeroops.errors import Code, Finding, FormatError
from aeroops.formats.checksum import crc32_held as crc32
from aeroops.formats.checksum import parse_crc_tag
from aeroops.formats.ids import format_timestamp, parse_snapshot_id
from aeroops.formats.layout import (
    BACKUP_MANIFEST,
    LONGEST_MEMBER_NAME,
    MEMBER_TYPES,
    SNAPSHOT_MANIFEST,
    STORAGE,
    WAL_LOG,
)
from aeroops.formats.manifests import (
    BACKUP_FORMAT_VERSION,
    BACKUP_MANIFEST_LIMIT,
    SNAPSHOT_FORMAT_VERSIONS,
    SNAPSHOT_MANIFEST_LIMIT,
    BackupManifest,
    SnapshotManifest,
    parse_backup_manifest,
    parse_snapshot_manifest,
    render_backup_manifest,
    render_snapshot_manifest,
)
from aeroops.formats.readable import Readable
from aeroops.formats.schemas import (
    SCHEMA_FILE_LIMIT,
    SchemaRef,
    StorageSchemaRefs,
    add_wal_schema_refs,
    parse_schema_ref,
)
from aeroops.formats.storage import iter_storage
from aeroops.formats.tar import EntryType, TarEntry, TarReader
from aeroops.formats.wal import WalRecord, iter_wal_batches
from aeroops.formats.wal_tally import WalTally, tally_wal

Manifest = TypeVar("Manifest")

MEMBERS_KEPT = 10_000  # MemberInfo rows in the report; past these, members are counted
# A backup archive holds 7 members plus one per schema file; past this many distinct names,
# members are checked one by one but no longer against each other (duplicates, listed schema
# files), which is an ERROR (AERO_VERIFY_TOO_MANY_MEMBERS), so the verdict is never ok by omission.
MEMBER_NAMES_KEPT = 10_000
NAME_SHOWN = 100  # characters of a longer name shown in reports


class Verification:
    def __init__(
        self,
        reader: CountingReader,
        wal_sink: WalSink | None,
        storage_sink: StorageSink | None,
        data_sink: DataSink | None,
    ) -> None:
        self.reader = reader
        self.plain: Readable = reader  # the tar stream: the stored one, or the layers' output
        # Stops the layers' threads before the stored stream is drained here (they read it too).
        self.stop_layers: Callable[[], None] = lambda: None
        self.wal_sink = wal_sink
        self.storage_sink = storage_sink
        self.data_sink = data_sink
        self.findings = Findings()
        self.members: list[MemberInfo] = []
        self.members_not_kept = 0
        self._too_many_names = False
        self.present: set[str] = set()  # normalised names of safe members of the right type
        self.seen: set[str] = set()  # normalised names of every member
        self.file_crcs: list[tuple[str, int, int]] = []  # (name, data offset, CRC) of storage and schemas
        self.schema_files: dict[str, str] = {}  # file name -> member name
        self.backup_manifest: BackupManifest | None = None
        self.snapshot_manifest: SnapshotManifest | None = None
        self.wal_records = 0
        self.wal_first: int | None = None
        self.defined_schemas: dict[str, SchemaRef] = {}  # schema file name -> the schema it defines
        self.storage_schemas: set[tuple[str, str]] = set()  # named by live storage records
        self.wal_schemas: set[tuple[str, str]] = set()  # named by WAL inserts and updates
        self.wal_last: int | None = None
        self._previous_name: str | None = None
        self._reading: str | None = None  # the member whose data is being read

    def run(self) -> None:
        tar = TarReader(self.plain)
        damaged = False
        try:
            for entry in tar:
                self._member(tar, entry)
            trailing = tar.trailing_bytes()
            if trailing < 0:
                self.findings.new(
                    Code.VERIFY_TRAILING_DATA,
                    "non-zero bytes follow the end-of-archive blocks",
                    offset=tar.end_offset,
                )
            if self.plain is not self.reader:
                while self.plain.read(1 << 20):  # to the end of each layer: its own damage there
                    pass
        except (FormatError, TarBroken) as raised:
            error = raised.error if isinstance(raised, TarBroken) else raised
            self.findings.error(error, path=self._reading)
            if tar.end_offset is None:
                self.findings.new(
                    Code.VERIFY_STOPPED,
                    "member boundaries are lost after this damage: later members, and whether required "
                    "ones are missing, were not checked",
                    offset=error.offset,
                )
                damaged = True
        self.stop_layers()
        self.reader.drain()
        check_manifests(self.findings, self.backup_manifest, self.snapshot_manifest)
        check_checksums(self.findings, self.backup_manifest, self.snapshot_manifest, self.file_crcs)
        if not damaged:
            check_completeness(
                self.findings, self.present, self.backup_manifest, self.snapshot_manifest, self.schema_files
            )
            check_schemas(self.findings, self.defined_schemas, self.storage_schemas, self.wal_schemas)

    def final_findings(self) -> tuple[Finding, ...]:
        """Every finding kept, then what was only counted (AERO_VERIFY_TOO_MANY)."""
        return self.findings.done(self.members_not_kept, MEMBERS_KEPT)

    # --- one member ---------------------------------------------------------------------------

    def _member(self, tar: TarReader, entry: TarEntry) -> None:
        name_bytes = entry.name_bytes or len(entry.name.encode("utf-8", "surrogateescape"))
        if name_bytes > LONGEST_MEMBER_NAME:  # shown shortened, kept nowhere: it cannot be a name of the layout
            entry = replace(entry, name=f"{entry.name[:NAME_SHOWN]}…[{name_bytes:,} bytes]")
        name = normalised(entry)
        where: dict[str, Any] = {"path": entry.name, "offset": entry.header_offset}
        if name_bytes > LONGEST_MEMBER_NAME:
            self.findings.new(
                Code.VERIFY_UNEXPECTED_MEMBER,
                f"a member name of {name_bytes:,} bytes: no name in a backup archive is longer than "
                f"{LONGEST_MEMBER_NAME}",
                **where,
            )
            self._done(entry, self._crc_of(tar, entry))
            return
        if name not in self.seen and name not in MEMBER_TYPES and len(self.seen) >= MEMBER_NAMES_KEPT:
            if not self._too_many_names:
                self._too_many_names = True
                self.findings.new(
                    Code.VERIFY_TOO_MANY_MEMBERS,
                    f"the archive has more than {MEMBER_NAMES_KEPT:,} members (a backup archive has 7 and one "
                    "per schema file): from here on each member is checked alone, not against the others",
                    **where,
                )
            self._unsafe_or_unexpected_alone(tar, entry)
            return
        if self._previous_name is not None and entry.name < self._previous_name:
            self.findings.new(
                Code.VERIFY_MEMBER_ORDER,
                f"{entry.name!r} follows {self._previous_name!r} but sorts before it: members are out of order",
                **where,
            )
        self._previous_name = entry.name
        if name in self.seen:
            self.findings.new(
                Code.VERIFY_DUPLICATE_MEMBER,
                f"{name!r} appears more than once; extracting would keep only the last",
                **where,
            )
        self.seen.add(name)

        unsafe = unsafe_reasons(entry)
        if unsafe:
            self.findings.new(Code.VERIFY_UNSAFE_MEMBER, "; ".join(unsafe), **where)
            self._done(entry, self._crc_of(tar, entry))
            return

        expected_type = MEMBER_TYPES.get(name)
        schema = schema_file(name)
        if schema is not None:
            expected_type = EntryType.FILE
        if expected_type is None:
            self.findings.new(
                Code.VERIFY_UNEXPECTED_MEMBER,
                f"{entry.name!r} is not part of a backup archive (format version 1)",
                **where,
            )
            self._done(entry, self._crc_of(tar, entry))
            return
        if entry.type != expected_type:
            self.findings.new(
                Code.VERIFY_UNEXPECTED_MEMBER,
                f"{entry.name!r} is a {kind(entry)} entry where a backup archive has a {expected_type.name.lower()}",
                **where,
            )
            self._done(entry, self._crc_of(tar, entry))
            return
        if entry.type == EntryType.DIRECTORY:
            if entry.size:
                self.findings.new(
                    Code.VERIFY_UNEXPECTED_MEMBER,
                    f"directory entry {entry.name!r} carries {entry.size} bytes of data",
                    **where,
                )
            self.present.add(name)
            self._done(entry, None)
            return

        self.present.add(name)
        self._reading = entry.name
        if self.data_sink is not None:
            tar.tee = self.data_sink(name, entry.size)
        try:
            crc = self._file(tar, entry, name, schema)
        finally:
            tar.tee = None
        self._reading = None
        self._done(entry, crc)

    def _file(self, tar: TarReader, entry: TarEntry, name: str, schema: str | None) -> int | None:
        """Read and check one regular file of the layout; its CRC."""
        crc: int | None
        if name == BACKUP_MANIFEST:
            crc = self._backup_manifest(tar, entry)
        elif name == SNAPSHOT_MANIFEST:
            crc = self._snapshot_manifest(tar, entry)
        elif name == WAL_LOG:
            crc = self._wal(tar, entry)
        elif name == STORAGE:
            crc = self._storage(tar, entry)
            self.file_crcs.append((entry.name, entry.data_offset, crc))
        else:
            assert schema is not None
            if entry.size <= SCHEMA_FILE_LIMIT:  # read whole, for the schema it defines
                data = tar.read_all(SCHEMA_FILE_LIMIT)
                crc = crc32(data)
                with contextlib.suppress(FormatError):  # defines none: a restore would not boot, see below
                    self.defined_schemas.setdefault(schema, parse_schema_ref(data, path=entry.name))
            else:
                crc = self._crc_of(tar, entry)
            self.schema_files.setdefault(schema, entry.name)
            if crc is not None:  # a regular file (only those reach here: others are refused first)
                self.file_crcs.append((entry.name, entry.data_offset, crc))
        return crc

    def _unsafe_or_unexpected_alone(self, tar: TarReader, entry: TarEntry) -> None:
        """A member past MEMBER_NAMES_KEPT: what can be judged of it alone, and its CRC."""
        where: dict[str, Any] = {"path": entry.name, "offset": entry.header_offset}
        unsafe = unsafe_reasons(entry)
        if unsafe:
            self.findings.new(Code.VERIFY_UNSAFE_MEMBER, "; ".join(unsafe), **where)
        elif normalised(entry) not in MEMBER_TYPES and schema_file(normalised(entry)) is None:
            self.findings.new(
                Code.VERIFY_UNEXPECTED_MEMBER,
                f"{entry.name!r} is not part of a backup archive (format version 1)",
                **where,
            )
        self._done(entry, self._crc_of(tar, entry))

    def _done(self, entry: TarEntry, crc: int | None) -> None:
        if len(self.members) >= MEMBERS_KEPT:
            self.members_not_kept += 1
            return
        self.members.append(
            MemberInfo(
                name=entry.name,
                type=kind(entry),
                size=entry.size,
                mode=entry.mode,
                mtime=entry.mtime,
                linkname=entry.linkname,
                header_offset=entry.header_offset,
                data_offset=entry.data_offset,
                crc32=crc,
            )
        )

    def _crc_of(self, tar: TarReader, entry: TarEntry) -> int | None:
        """CRC of a regular file's data (others carry none worth a checksum)."""
        if entry.type not in (EntryType.FILE, EntryType.CONTIGUOUS):
            return None
        self._reading = entry.name
        crc = 0
        for chunk in tar.chunks():
            crc = crc32(chunk, crc)
        self._reading = None
        return crc

    def _read_manifest(
        self, tar: TarReader, entry: TarEntry, limit: int, parse: Callable[..., Manifest]
    ) -> tuple[Manifest | None, bytes, int]:
        """The manifest member as ``parse`` reads it, its bytes and their CRC-32. The manifest is
        None, said in a finding, when the member is larger than ``limit`` or does not parse."""
        if entry.size > limit:
            self.findings.new(
                Code.VERIFY_MANIFEST,
                f"{entry.name} is {entry.size} bytes; a manifest is at most {limit}",
                path=entry.name,
                offset=entry.data_offset,
            )
            crc = self._crc_of(tar, entry)
            return None, b"", crc or 0
        data = tar.read_all(limit)
        crc = crc32(data)
        try:
            return parse(data, path=entry.name), data, crc
        except FormatError as error:
            self._manifest_error(entry, error.message)
            return None, data, crc

    def _manifest_error(self, entry: TarEntry, message: str) -> None:
        self.findings.new(Code.VERIFY_MANIFEST, message, path=entry.name, offset=entry.data_offset)

    def _not_as_written(self, entry: TarEntry, data: bytes, canonical: bytes) -> None:
        if data != canonical:
            at = next((i for i, (a, b) in enumerate(zip(data, canonical, strict=False)) if a != b), None)
            at = min(len(data), len(canonical)) if at is None else at
            self.findings.new(
                Code.VERIFY_MANIFEST_FORM,
                f"{entry.name} means the same but is not byte for byte what AeroDB writes "
                f"(first difference at byte {at} of the file): it was changed after it was written",
                path=entry.name,
                offset=entry.data_offset + at,
            )

    def _backup_manifest(self, tar: TarReader, entry: TarEntry) -> int:
        manifest, data, crc = self._read_manifest(tar, entry, BACKUP_MANIFEST_LIMIT, parse_backup_manifest)
        if manifest is None:
            return crc
        if self.backup_manifest is None:
            self.backup_manifest = manifest
        self._not_as_written(entry, data, render_backup_manifest(manifest))
        if manifest.format_version != BACKUP_FORMAT_VERSION:
            self._manifest_error(
                entry, f"format_version is {manifest.format_version}; aeroops reads {BACKUP_FORMAT_VERSION}"
            )
        if manifest.backup_id != manifest.snapshot_id:
            self._manifest_error(entry, f"backup_id {manifest.backup_id} is not the snapshot_id {manifest.snapshot_id}")
        return crc

    def _snapshot_manifest(self, tar: TarReader, entry: TarEntry) -> int:
        manifest, data, crc = self._read_manifest(tar, entry, SNAPSHOT_MANIFEST_LIMIT, parse_snapshot_manifest)
        if manifest is None:
            return crc
        if self.snapshot_manifest is None:
            self.snapshot_manifest = manifest
        # AeroDB writes schema_checksums in no fixed order: compare in the order found.
        in_file_order = json.loads(data)["schema_checksums"]
        written = tuple((n, parse_crc_tag(c)) for n, c in in_file_order.items())
        self._not_as_written(entry, data, render_snapshot_manifest(replace(manifest, schema_checksums=written)))
        if manifest.format_version not in SNAPSHOT_FORMAT_VERSIONS:
            self._manifest_error(entry, f"format_version is {manifest.format_version}; AeroDB writes 1 or 2")
        elif (manifest.format_version == 2) != (manifest.commit_boundary is not None):
            self._manifest_error(
                entry,
                f"format_version {manifest.format_version} "
                + ("needs a commit_boundary" if manifest.format_version == 2 else "has no commit_boundary"),
            )
        if format_timestamp(manifest.created_at) != format_timestamp(parse_snapshot_id(manifest.snapshot_id)):
            self.findings.new(
                Code.VERIFY_CREATED_AT,
                f"created_at {format_timestamp(manifest.created_at)} is not the time snapshot_id "
                f"{manifest.snapshot_id} names (AeroDB reads the clock twice, so a one-second "
                "difference can happen, rarely; more means the manifest was changed)",
                path=entry.name,
                offset=entry.data_offset,
            )
        return crc

    def _storage(self, tar: TarReader, entry: TarEntry) -> int:
        walk = StorageSchemaRefs()  # which schemas live records name: C, per chunk
        reader = MemberReader(tar.chunks(), walk.feed)
        self.storage_schemas = walk.refs
        if self.storage_sink is not None:
            try:
                for record in iter_storage(reader, path=entry.name):
                    try:
                        self.storage_sink(record)
                    except FormatError as error:
                        self.findings.error(error, path=entry.name, base=entry.data_offset)
            except FormatError as error:
                self.findings.error(error, path=entry.name, base=entry.data_offset)
        return reader.drain()

    def _wal(self, tar: TarReader, entry: TarEntry) -> int:
        reader = MemberReader(tar.chunks())

        def gap(record: WalRecord, expected: int) -> None:  # every gap is reported, not just the first
            self.findings.new(
                Code.WAL_SEQUENCE,
                sequence_problem(record.sequence, expected),
                path=entry.name,
                offset=entry.data_offset + record.offset,
                sequence=record.sequence,
            )

        if self.wal_sink is None:  # no record wanted: counted and checked in C, none built
            tally = WalTally()
            try:
                tally_wal(reader, path=entry.name, on_gap=gap, refs=self.wal_schemas, tally=tally)
            finally:  # a broken tar under the member raises through: what was counted stays counted
                self.wal_records += tally.records
                if self.wal_first is None:
                    self.wal_first = tally.first
                if tally.last is not None:
                    self.wal_last = tally.last
            if tally.error is not None:
                self.findings.error(tally.error, path=entry.name, base=entry.data_offset)
            return reader.drain()
        try:
            for batch in iter_wal_batches(reader, path=entry.name, on_gap=gap):
                self.wal_records += len(batch)
                add_wal_schema_refs(batch, self.wal_schemas)
                if self.wal_first is None:
                    self.wal_first = batch[0].sequence
                self.wal_last = batch[-1].sequence
                for record in batch:
                    try:
                        self.wal_sink(record)
                    except FormatError as error:
                        self.findings.error(error, path=entry.name, base=entry.data_offset, sequence=record.sequence)
        except FormatError as error:
            self.findings.error(error, path=entry.name, base=entry.data_offset)
        return reader.drain()
