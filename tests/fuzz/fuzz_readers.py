"""Coverage-guided fuzzing of aeroops' readers with atheris (libFuzzer), beside the hypothesis
properties in tests/test_fuzz_readers.py. Not collected by pytest; run by hand:

    .venv/bin/pip install atheris
    .venv/bin/python tests/fuzz/fuzz_readers.py TARGET [libFuzzer options]

TARGET: wal, storage, manifest, tar, verify or all (one after another). Without options each
target runs for 60 seconds from a seed corpus built from tests/fixtures/aerodb-reference (in a
temporary folder). A reader may succeed or raise FormatError; anything else, a hang
(-timeout, 10 s by default here) or memory past -rss_limit_mb (512 here) is a crash, which
libFuzzer reports with the input that caused it (crash-<sha1> in the current folder).
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tempfile
from collections.abc import Callable
from itertools import chain
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["aeroops"]):
    from aeroops.core.inspect import inspect_archive_stream
    from aeroops.core.verify import verify_archive_stream
    from aeroops.errors import FormatError
    from aeroops.formats import manifests, wal
    from aeroops.formats.storage import iter_storage
    from aeroops.formats.tar import TarReader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aerodb-reference"


def _wal_outcome(records: Callable[[io.BytesIO], object], decode: Callable[..., object], data: bytes) -> list[object]:
    seen: list[object] = []
    try:
        for record in records(io.BytesIO(data)):  # type: ignore[attr-defined]
            try:
                seen.append((record.offset, record.sequence, decode(record, path="wal.log")))
            except FormatError as error:
                seen.append((record.offset, error.code))
    except FormatError as error:
        seen.append((error.code, error.offset, error.sequence))
    return seen


def fuzz_wal(data: bytes) -> None:
    """The C reader and payload decoder (when built) and the Python ones: only FormatError, and
    the same outcome, records and decoded payloads alike."""
    c = _wal_outcome(lambda stream: wal.iter_wal(stream, path="wal.log"), wal.decode_payload, data)
    python = _wal_outcome(
        lambda stream: chain.from_iterable(wal._wal_batches_python(stream, "wal.log", 1, None)),
        wal._decode_payload_python,
        data,
    )
    if c != python:
        raise AssertionError(f"the C and Python WAL readers disagree: {c[-1:]} != {python[-1:]}")


def fuzz_storage(data: bytes) -> None:
    try:
        for _ in iter_storage(io.BytesIO(data), path="storage.dat"):
            pass
    except FormatError:
        pass


def fuzz_manifest(data: bytes) -> None:
    for parse in (manifests.parse_snapshot_manifest, manifests.parse_backup_manifest, manifests.parse_checkpoint):
        with contextlib.suppress(FormatError):
            parse(data, path="manifest.json")


def fuzz_tar(data: bytes) -> None:
    try:
        reader = TarReader(io.BytesIO(data), chunk_size=4096)
        for _ in reader:
            for _ in reader.chunks():
                pass
        reader.trailing_bytes()
    except FormatError:
        pass


def fuzz_verify(data: bytes) -> None:
    verify_archive_stream(io.BytesIO(data), name="fuzz.tar")  # never raises: damage is a finding
    inspect_archive_stream(io.BytesIO(data), name="fuzz.tar")


TARGETS: dict[str, tuple[Callable[[bytes], None], list[str]]] = {
    "wal": (fuzz_wal, ["datadir-*/wal/wal.log"]),
    "storage": (fuzz_storage, ["datadir-*/snapshots/*/storage.dat"]),
    "manifest": (fuzz_manifest, ["datadir-*/snapshots/*/manifest.json", "datadir-*/checkpoint.json"]),
    "tar": (fuzz_tar, ["*.tar"]),
    "verify": (fuzz_verify, ["*.tar"]),
}


def seed_corpus(target: str) -> str:
    folder = Path(tempfile.mkdtemp(prefix=f"aeroops-fuzz-{target}-"))
    for pattern in TARGETS[target][1]:
        for index, path in enumerate(sorted(FIXTURES.glob(pattern))):
            (folder / f"seed-{index}-{path.name}").write_bytes(path.read_bytes()[: 64 << 10])
    return str(folder)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in (*TARGETS, "all"):
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)},all}} [libFuzzer options]")
    target, options = sys.argv[1], sys.argv[2:]
    if target == "all":  # one process per target: libFuzzer runs one target per process
        for name in TARGETS:
            subprocess.run([sys.executable, __file__, name, *options], check=True)
        return
    if not any(not option.startswith("-") for option in options):
        options.append(seed_corpus(target))
    if not any(option.startswith("-max_total_time") or option.startswith("-runs") for option in options):
        options.append("-max_total_time=60")
    options += ["-timeout=10", "-rss_limit_mb=512", "-print_final_stats=1"]
    atheris.Setup([sys.argv[0], *options], TARGETS[target][0])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
