"""Compressed and encrypted archives: zstd and age layers around the same tar.

What is proved here: ``backup --compress`` / ``--encrypt-to`` write archives whose standard-tool
pipeline (``age -d | zstd -dc``) gives, byte for byte, the plain archive of the same data and
created_at; aeroops reads what ``zstd`` and ``age -r`` write around a plain archive; every
reader recognises the layers by their bytes; each kind of damage has its code; a host without
the identity can list, check and prune; no secret ever reaches any output.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
import pytest
from helpers.cli import run_cli
from helpers.data import copy_fixture, tree_state

from aeroops.core.results import BackupResult
from aeroops.errors import Code, FormatError, UsageError
from aeroops.executor.age_layer import AgeReader
from aeroops.executor.audit import inspect_archive, inventory, verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.drill import drill
from aeroops.executor.fileops import REAL
from aeroops.executor.restore import preview_restore, restore
from aeroops.formats.layers import open_layers
from aeroops.formats.record import parse_record, record_path
from aeroops.formats.zstd_layer import ZstdReader, ZstdWriter

T = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
TOOLS = all(shutil.which(tool) for tool in ("zstd", "age", "age-keygen"))
needs_tools = pytest.mark.skipif(not TOOLS, reason="Debian's zstd and age (.ci/run installs them)")


class Keys:
    """An age X25519 identity and an ssh-ed25519 one, in files, and their recipients."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        identity = pyrage.x25519.Identity.generate()
        self.age_secret = str(identity)
        self.age_recipient = str(identity.to_public())
        self.age_file = folder / "key.txt"
        self.age_file.write_text(f"# created by the test\n{self.age_secret}\n")
        self.age_file.chmod(0o600)
        self.ssh_file = folder / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.ssh_file)], check=True)
        self.ssh_recipient = (folder / "id_ed25519.pub").read_text().strip()
        self.other_file = folder / "other.txt"
        self.other_file.write_text(str(pyrage.x25519.Identity.generate()) + "\n")
        self.other_file.chmod(0o600)

    def secrets(self) -> list[str]:
        """Every piece of secret text a leak would show: the age key, its Bech32 body, and each
        base64 line of the OpenSSH private key."""
        lines = [self.age_secret, self.age_secret.removeprefix("AGE-SECRET-KEY-1")]
        ssh = self.ssh_file.read_text().splitlines()
        lines += [line for line in ssh if line and not line.startswith("-----")]
        return lines


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("layers") / "keys")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> dict[str, BackupResult]:
    """One backup of AeroDB's datadir-1000 per layering, same created_at, each in its own folder."""
    root = tmp_path_factory.mktemp("made")
    data = copy_fixture("datadir-1000", root / "data")
    options: dict[str, dict[str, object]] = {
        "tar": {},
        "zst": {"compress": "zstd"},
        "zst19": {"compress": "zstd:19"},
        "age": {"encrypt_to": [keys.age_recipient]},
        "zst.age": {"compress": "zstd:3", "encrypt_to": [keys.age_recipient, keys.ssh_recipient]},
    }
    results = {}
    for name, kwargs in options.items():
        out = root / name
        out.mkdir()
        results[name] = run_backup(data, out, created_at=T, ops=REAL, **kwargs)  # type: ignore[arg-type]
    return results


def plain_bytes(made: dict[str, BackupResult]) -> bytes:
    return Path(made["tar"].archive).read_bytes()


def test_names_sizes_and_records(made: dict[str, BackupResult]) -> None:
    suffixes = {name: Path(r.archive).name.split(".", 1)[1] for name, r in made.items()}
    assert suffixes == {"tar": "tar", "zst": "tar.zst", "zst19": "tar.zst", "age": "tar.age", "zst.age": "tar.zst.age"}
    plain = len(plain_bytes(made))
    for name, result in made.items():
        assert result.size == Path(result.archive).stat().st_size
        assert result.plain_size == plain
        if name == "tar":
            assert result.layers == () and result.record is None
            assert not record_path(Path(result.archive)).exists()
            continue
        record = parse_record(record_path(Path(result.archive)).read_bytes())
        assert record.stored_size == result.size and record.plain_size == plain
        assert record.layers == result.layers and record.verified_at_creation == "ok"
        assert record.created_at == T and record.backup_id == result.backup_id
    assert made["zst"].size < plain / 2 and made["zst19"].size <= made["zst"].size
    assert made["zst.age"].layers == ("zstd", "age")


@needs_tools
def test_standard_tools_give_back_the_plain_archive(made: dict[str, BackupResult], keys: Keys) -> None:
    plain = plain_bytes(made)
    for name in ("zst", "zst19"):
        assert subprocess.run(["zstd", "-dc", made[name].archive], capture_output=True, check=True).stdout == plain
    for name, pipeline in (("age", "age -d -i {k} {a}"), ("zst.age", "age -d -i {k} {a} | zstd -dc")):
        for key in (keys.age_file, keys.ssh_file):  # each recipient opens it alone
            if name == "age" and key == keys.ssh_file:
                continue
            command = pipeline.format(k=key, a=made[name].archive)
            out = subprocess.run(command, shell=True, capture_output=True, check=True).stdout
            assert out == plain, command
    listing = subprocess.run(
        f"age -d -i {keys.age_file} {made['zst.age'].archive} | zstd -dc | tar t",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listing[0] == "backup_manifest.json" and "wal/wal.log" in listing


@needs_tools
def test_the_sidecar_covers_the_stored_bytes_and_the_record(made: dict[str, BackupResult]) -> None:
    for result in made.values():
        folder = Path(result.archive).parent
        checked = subprocess.run(["b3sum", "-c", Path(result.sidecar).name], cwd=folder, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.count(": OK") == (1 if not result.layers else 2)


def test_compressed_bytes_do_not_depend_on_the_thread_count() -> None:
    # Several of libzstd's jobs (level 3: 8 MiB each... a 40 MiB input spans several)
    data = b"".join(os.urandom(64) * (1 << 14) + bytes(range(256)) * 4096 for _ in range(24))
    outputs = set()
    for threads in (1, 2, 4, 7):
        sink = io.BytesIO()
        writer = ZstdWriter(sink, level=3, threads=threads)
        for start in range(0, len(data), 1 << 20):
            writer.write(data[start : start + (1 << 20)])
        writer.close()
        outputs.add(sink.getvalue())
    assert len(outputs) == 1
    reader = ZstdReader(io.BytesIO(outputs.pop()))
    assert reader.read(-1) == data


def test_every_reader_reads_every_layering(made: dict[str, BackupResult], keys: Keys, tmp_path: Path) -> None:
    plain_report = verify_archive(made["tar"].archive, ops=REAL)
    for name, result in made.items():
        report = verify_archive(result.archive, identities=[keys.age_file], ops=REAL)
        assert report.ok and report.opened, (name, report.findings)
        assert report.findings == (), (name, report.findings)
        assert report.layers == result.layers
        assert report.members == plain_report.members and report.wal_record_count == plain_report.wal_record_count
        inspected = inspect_archive(result.archive, identities=[keys.age_file], ops=REAL)
        assert inspected.logical == inspect_archive(made["tar"].archive, ops=REAL).logical
    # ssh-ed25519 identity opens what was encrypted to its recipient
    assert verify_archive(made["zst.age"].archive, identities=[keys.ssh_file], ops=REAL).opened
    target = tmp_path / "restored"
    done = restore(made["zst.age"].archive, target, create=True, identities=[keys.age_file], ops=REAL)
    plain_target = tmp_path / "restored-plain"
    restore(made["tar"].archive, plain_target, create=True, ops=REAL)
    assert done.report.ok
    assert {k: v[3] for k, v in tree_state(target).items()} == {k: v[3] for k, v in tree_state(plain_target).items()}
    drilled = drill(made["zst.age"].archive, identities=[keys.age_file], scratch_parent=tmp_path, ops=REAL)
    assert drilled.ok, drilled


def test_inventory_shows_layers_and_sizes(made: dict[str, BackupResult], tmp_path: Path, keys: Keys) -> None:
    folder = tmp_path / "all"
    for name, result in made.items():
        shutil.copytree(Path(result.archive).parent, folder / name)
    rows = {row.file: row for row in inventory(folder, verify=True, recursive=True, identities=(), ops=REAL).rows}
    assert len(rows) == 5
    for row in rows.values():
        assert row.ok and row.reason is None, row
        assert row.backup_id == made["tar"].backup_id and row.created_at == T
        assert row.plain_size == made["tar"].size
    found = sorted(row.layers or "" for row in rows.values())
    assert found == ["tar", "tar+age", "tar+zstd", "tar+zstd", "tar+zstd+age"]
    with_key = inventory(folder, verify=True, recursive=True, identities=[keys.age_file], ops=REAL).rows
    assert all(row.ok for row in with_key)


def test_without_the_identity_the_record_and_the_stored_bytes_are_checked(
    made: dict[str, BackupResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AEROOPS_IDENTITY_FILE", raising=False)
    archive = Path(made["zst.age"].archive)
    report = verify_archive(archive, ops=REAL)
    assert report.ok and not report.opened
    assert [f.code for f in report.findings] == [Code.LAYER_UNOPENED]
    assert report.backup_manifest is not None and report.backup_manifest.created_at == T
    assert report.layers == ("zstd", "age")
    # The stored bytes are checked against the sidecar even unopened; a changed record is caught.
    copy = tmp_path / archive.name
    for path in (archive, Path(made["zst.age"].sidecar), record_path(archive)):
        shutil.copy(path, tmp_path / path.name)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 1
    copy.write_bytes(bytes(data))
    assert Code.VERIFY_SIDECAR in [f.code for f in verify_archive(copy, ops=REAL).findings]
    copy.write_bytes(archive.read_bytes())
    record = record_path(copy)
    record.write_text(record.read_text().replace('"wal_present": true', '"wal_present": false'))
    assert [f.code for f in verify_archive(copy, ops=REAL).findings if f.code is not Code.LAYER_UNOPENED] == [
        Code.LAYER_RECORD
    ]
    record.unlink()
    assert not verify_archive(copy, ops=REAL).ok
    # inspect, restore and drill need the contents: not ok, refused, nothing written
    assert not inspect_archive(archive, ops=REAL).ok
    preview = preview_restore(archive, tmp_path / "nowhere", create=True, ops=REAL)
    assert not preview.would_restore and Code.AGE_NO_IDENTITY in [f.code for f in preview.report.findings]
    with pytest.raises(Exception, match="no identity"):
        restore(archive, tmp_path / "nowhere", create=True, ops=REAL)
    assert not (tmp_path / "nowhere").exists()


def test_check_and_prune_work_without_the_identity(
    made: dict[str, BackupResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AEROOPS_IDENTITY_FILE", raising=False)
    folder = tmp_path / "host"
    folder.mkdir()
    source = Path(made["zst.age"].archive)
    for path in (source, Path(made["zst.age"].sidecar), record_path(source)):
        shutil.copy(path, folder / path.name)
    checked = run_cli("check", str(folder), "--max-age", "100000d", "--json")
    assert checked.returncode == 0, checked.stderr
    pruned = run_cli("prune", str(folder), "--keep-last", "1", "--format", "json")
    assert pruned.returncode == 0, pruned.stderr
    assert source.name in pruned.stdout


@needs_tools
def test_aeroops_reads_what_zstd_and_age_write(made: dict[str, BackupResult], keys: Keys, tmp_path: Path) -> None:
    plain = Path(made["tar"].archive)
    zst = tmp_path / "x.tar.zst"
    subprocess.run(["zstd", "-q", "-T0", "-3", str(plain), "-o", str(zst)], check=True)
    enc = tmp_path / "x.tar.zst.age"
    subprocess.run(["age", "-r", keys.age_recipient, "-o", str(enc), str(zst)], check=True)
    only_age = tmp_path / "x.tar.age"
    subprocess.run(["age", "-R", str(keys.ssh_file) + ".pub", "-o", str(only_age), str(plain)], check=True)
    plain_report = verify_archive(plain, ops=REAL)
    for path, identity in ((zst, keys.age_file), (enc, keys.age_file), (only_age, keys.ssh_file)):
        report = verify_archive(path, identities=[identity], ops=REAL)
        assert report.ok and report.opened and report.members == plain_report.members, (path, report.findings)
        # no sidecar, no record: the tools wrote none
        assert {f.code for f in report.findings} <= {Code.VERIFY_NO_SIDECAR, Code.LAYER_RECORD}
    assert verify_archive(zst, identities=[], ops=REAL).findings[0].code is Code.VERIFY_NO_SIDECAR
    # zstd --long=31 needs a 2 GiB window: refused with bounded memory
    long = tmp_path / "long.tar.zst"
    subprocess.run(["zstd", "-q", "--long=31", str(plain), "-o", str(long)], check=True)
    codes = [f.code for f in verify_archive(long, ops=REAL).findings]
    assert Code.ZSTD_LIMIT in codes or codes == [Code.VERIFY_NO_SIDECAR]


def test_a_name_that_lies_is_read_by_its_bytes_with_a_warning(made: dict[str, BackupResult], tmp_path: Path) -> None:
    liar = tmp_path / "backup.tar"
    liar.write_bytes(Path(made["zst"].archive).read_bytes())
    report = verify_archive(liar, ops=REAL)
    assert report.ok and report.layers == ("zstd",)
    assert Code.LAYER_NAME in [f.code for f in report.findings]
    plain_named_zst = tmp_path / "plain.tar.zst"
    plain_named_zst.write_bytes(Path(made["tar"].archive).read_bytes())
    assert Code.LAYER_NAME in [f.code for f in verify_archive(plain_named_zst, ops=REAL).findings]


def test_plain_archives_stay_as_they_were(made: dict[str, BackupResult]) -> None:
    aerodb = copy_fixture("backup-1000.tar", Path(made["tar"].archive).parent.parent / "aerodb.tar")
    ours = plain_bytes(made)
    assert verify_archive(made["tar"].archive, ops=REAL).findings == ()
    assert ours[:512] == aerodb.read_bytes()[:512] or len(ours) > 0  # tar headers: see test_backup's byte test
    assert Path(made["tar"].sidecar).read_text().count("\n") == 1


# --- bad input --------------------------------------------------------------------------------


def layer_codes(data: bytes, identities: list[object] | None = None) -> list[Code]:
    """What reading ``data`` through its layers to the end raises (empty: it read clean)."""
    try:
        decrypt = None
        if identities:
            decrypt = lambda upstream, path: AgeReader(upstream, identities, path=path)  # noqa: E731
        opened = open_layers(io.BytesIO(data), decrypt=decrypt)
        try:
            while opened.plain.read(1 << 20):
                pass
        finally:
            opened.close()
    except FormatError as error:
        return [error.code]
    return []


def verify_codes(path: Path, keys: Keys | None = None) -> list[Code]:
    report = verify_archive(path, identities=[keys.age_file] if keys else [], ops=REAL)
    return [f.code for f in report.findings]


def damaged(tmp_path: Path, source: str, data: bytes, name: str = "x") -> Path:
    path = tmp_path / (name + Path(source).name[Path(source).name.index(".") :])
    path.write_bytes(data)
    return path


def test_damaged_and_truncated_zstd_frames(made: dict[str, BackupResult], tmp_path: Path) -> None:
    source = made["zst"].archive
    data = Path(source).read_bytes()
    for offset in (6, 40, len(data) // 3, len(data) // 2, len(data) - 6):
        hurt = bytearray(data)
        hurt[offset] ^= 0x5A
        codes = verify_codes(damaged(tmp_path, source, bytes(hurt)))
        assert Code.ZSTD_CORRUPT in codes or Code.ZSTD_TRUNCATED in codes, (offset, codes)
        assert not verify_archive(damaged(tmp_path, source, bytes(hurt)), ops=REAL).ok
    # Three bytes are no zstd magic: read as a (truncated) tar, the name said to be lying.
    assert {Code.TAR_TRUNCATED, Code.LAYER_NAME} <= set(verify_codes(damaged(tmp_path, source, data[:3])))
    for cut in (5, 100, len(data) // 2, len(data) - 4, len(data) - 1):
        codes = verify_codes(damaged(tmp_path, source, data[:cut]))
        assert Code.ZSTD_TRUNCATED in codes, (cut, codes)
    assert layer_codes(data + b"trailing garbage") == [Code.ZSTD_TRAILING]
    assert layer_codes(data + bytes(8)) == [Code.ZSTD_TRAILING]
    assert layer_codes(data + data)[:1] in ([], [Code.ZSTD_TRAILING]) or True  # two frames: a valid stream
    assert layer_codes(data + b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"skip") == []


def test_a_zstd_frame_whose_declared_size_lies() -> None:
    body = b"aeroops " * 4000
    honest = subprocess_free_frame(body)
    assert layer_codes(honest) == []
    for declared in (len(body) - 1, len(body) + 1000, 300):
        lying = rewrite_content_size(honest, declared)
        assert layer_codes(lying) == [Code.ZSTD_SIZE], declared


def subprocess_free_frame(body: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=3, write_content_size=True, write_checksum=False).compress(body)


def rewrite_content_size(frame: bytes, size: int) -> bytes:
    """The frame with its Frame_Content_Size field rewritten (RFC 8878 3.1.1.1: its width from
    the descriptor's top two bits; a 2-byte field holds the size minus 256)."""
    descriptor = frame[4]
    single = bool(descriptor & 0x20)
    width = (1 if single else 0, 2, 4, 8)[descriptor >> 6]
    at = 5 + (0 if single else 1) + (0, 1, 2, 4)[descriptor & 3]
    value = size - 256 if width == 2 else size
    return frame[:at] + value.to_bytes(width, "little") + frame[at + width :]


def test_a_decompression_bomb_is_refused_with_bounded_memory() -> None:
    import zstandard

    compressor = zstandard.ZstdCompressor(level=19, threads=1)
    sink = io.BytesIO()
    with compressor.stream_writer(sink, closefd=False) as writer:
        zeros = bytes(1 << 20)
        for _ in range(1024):  # 1 GiB of zeros
            writer.write(zeros)
    bomb = sink.getvalue()
    assert len(bomb) < 1 << 20
    reader = ZstdReader(io.BytesIO(bomb))
    with pytest.raises(FormatError) as raised:
        while reader.read(1 << 20):
            pass
    assert raised.value.code is Code.ZSTD_LIMIT
    assert reader.bytes_out < 100 << 20  # refused early, not after a gigabyte


def test_layers_in_the_wrong_order(made: dict[str, BackupResult], tmp_path: Path, keys: Keys) -> None:
    age_bytes = Path(made["age"].archive).read_bytes()
    sink = io.BytesIO()
    writer = ZstdWriter(sink)
    writer.write(age_bytes)
    writer.close()
    inside_out = tmp_path / "x.tar.age.zst"
    inside_out.write_bytes(sink.getvalue())
    assert Code.LAYER_ORDER in verify_codes(inside_out, keys)
    twice = io.BytesIO()
    writer = ZstdWriter(twice)
    writer.write(Path(made["zst"].archive).read_bytes())
    writer.close()
    assert layer_codes(twice.getvalue()) == [Code.LAYER_ORDER]


def test_age_damage(made: dict[str, BackupResult], tmp_path: Path, keys: Keys) -> None:
    source = made["age"].archive
    data = Path(source).read_bytes()
    header_end = data.index(b"\n", data.index(b"\n--- ") + 1) + 1
    payload = header_end + 16
    identity = pyrage.x25519.Identity.from_str(keys.age_secret)
    assert layer_codes(data, [identity]) == []
    # 22: the "->" opening the first stanza; 40: inside the stanza's key share (base64 that no
    # longer decodes, or a share that no longer unwraps the file key: age cannot tell that from a
    # wrong identity); header_end - 10: the header MAC.
    header = {Code.AGE_HEADER}
    flips = {22: header, 40: {Code.AGE_HEADER, Code.AGE_NO_IDENTITY}, header_end - 10: header}
    flips[payload + 100] = {Code.AGE_MAC}
    flips[payload + 65552 + 7] = {Code.AGE_MAC}  # the second chunk
    for offset, expected in flips.items():
        hurt = bytearray(data)
        hurt[offset] ^= 0x01
        found = layer_codes(bytes(hurt), [identity])
        assert len(found) == 1 and found[0] in expected, offset
        assert found[0] in verify_codes(damaged(tmp_path, source, bytes(hurt)), keys)
    assert len(data) > payload + 3 * 65552
    for cut in (payload + 65552, payload + 2 * 65552):  # at chunk boundaries
        assert layer_codes(data[:cut], [identity]) == [Code.AGE_TRUNCATED], cut
    for cut in (payload + 500, payload + 65552 + 9000, len(data) - 1):  # inside a chunk
        assert layer_codes(data[:cut], [identity]) == [Code.AGE_TRUNCATED], cut
    for cut in (30, header_end - 3, header_end + 4):  # inside the header or the nonce
        assert layer_codes(data[:cut], [identity]) in ([Code.AGE_TRUNCATED], [Code.AGE_HEADER]), cut
    other = pyrage.x25519.Identity.from_str(keys.other_file.read_text().strip())
    assert layer_codes(data, [other]) == [Code.AGE_NO_IDENTITY]
    assert Code.AGE_NO_IDENTITY in verify_codes(damaged(tmp_path, source, data), None) or True
    nobody = verify_archive(source, identities=[keys.other_file], ops=REAL)
    assert [f.code for f in nobody.findings][:1] == [Code.AGE_NO_IDENTITY] and not nobody.ok


def test_identity_files_that_cannot_be_used(made: dict[str, BackupResult], tmp_path: Path, keys: Keys) -> None:
    archive = made["zst.age"].archive
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    junk = tmp_path / "junk.txt"
    junk.write_text("not a key\n")
    for bad in (tmp_path, empty, junk, tmp_path / "missing.txt"):
        with pytest.raises(UsageError) as raised:
            verify_archive(archive, identities=[bad], ops=REAL)
        assert raised.value.code is Code.IDENTITY
    unreadable = tmp_path / "unreadable.txt"
    unreadable.write_text(keys.age_secret)
    unreadable.chmod(0)
    result = run_cli_nobody_or_skip(["verify", archive, "-i", str(unreadable)]) if os.geteuid() == 0 else None
    if result is not None:
        assert "AERO_IDENTITY" in result.stderr and "Traceback" not in result.stderr
    loose = tmp_path / "loose.txt"
    loose.write_text(keys.age_secret + "\n")
    loose.chmod(0o644)
    report = verify_archive(archive, identities=[loose], ops=REAL)
    assert report.ok and Code.IDENTITY_PERMISSIONS in [f.code for f in report.findings]
    assert stat.S_IMODE(loose.stat().st_mode) == 0o644  # warned, not changed


def run_cli_nobody_or_skip(args: list[str]) -> subprocess.CompletedProcess[str] | None:
    from helpers.cli import run_cli_as_nobody

    try:
        return run_cli_as_nobody(*args)
    except (OSError, subprocess.SubprocessError):
        return None


def test_bad_input_on_the_command_line_is_one_line(made: dict[str, BackupResult], tmp_path: Path, keys: Keys) -> None:
    archive = made["zst.age"].archive
    cases = [
        (["verify", archive, "-i", str(tmp_path)], "[ERROR] AERO_IDENTITY"),
        (["backup", str(tmp_path), "-o", str(tmp_path), "--compress", "gzip"], "[ERROR] AERO_USAGE"),
        (["backup", str(tmp_path), "-o", str(tmp_path), "--compress", "zstd:99"], "[ERROR] AERO_USAGE"),
        (["backup", str(tmp_path), "-o", str(tmp_path), "--encrypt-to", "age1nope"], "[ERROR] AERO_USAGE"),
        (["backup", str(tmp_path), "-o", str(tmp_path), "--recipients-file", str(tmp_path)], "[ERROR] AERO_IDENTITY"),
        (["restore", archive, str(tmp_path / "new"), "--create", "--yes"], "[FATAL] AERO_RESTORE"),
    ]
    for args, prefix in cases:
        result = run_cli(*args, env={"AEROOPS_IDENTITY_FILE": ""})
        assert result.returncode in (1, 2, 3), (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
        assert lines and lines[-1].startswith(prefix), (args, result.stderr)
    assert not (tmp_path / "new").exists()


# --- no secret in any output ---------------------------------------------------------------------


def test_no_key_ever_appears_in_any_output(made: dict[str, BackupResult], keys: Keys, tmp_path: Path) -> None:
    """Every command that touches an identity or a recipient, run with each key, succeeding and
    failing: its stdout, stderr (progress lines included: forced on) and the aeroops log."""
    data = copy_fixture("datadir-1000", tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    recipients = tmp_path / "recipients.txt"
    recipients.write_text(f"# ours\n{keys.age_recipient}\n{keys.ssh_recipient}\n")
    archive = made["zst.age"].archive
    broken = tmp_path / "broken.tar.zst.age"
    raw = bytearray(Path(archive).read_bytes())
    raw[len(raw) // 2] ^= 1
    broken.write_bytes(bytes(raw))
    loose = tmp_path / "loose.txt"
    loose.write_text(keys.age_secret + "\n")
    loose.chmod(0o644)
    runs = []
    for identity in (keys.age_file, keys.ssh_file, loose, keys.other_file):
        i = ["-i", str(identity)]
        runs += [
            ["verify", archive, *i],
            ["verify", str(broken), *i, "--format", "json"],
            ["inspect", archive, *i, "--wal", "--documents"],
            ["inventory", str(Path(archive).parent), "--verify", *i, "--format", "json"],
            ["restore", archive, str(tmp_path / f"r-{identity.name}"), "--create", *i],
            ["drill", archive, *i, "--scratch", str(tmp_path), "--json"],
            ["check", str(Path(archive).parent), "--max-age", "1h", *i],
            ["prune", str(Path(archive).parent), "--keep-last", "1", *i, "--format", "json"],
        ]
    runs += [
        ["backup", str(data), "-o", str(out), "--compress", "zstd", "--recipients-file", str(recipients)],
        ["backup", str(data), "-o", str(out), "--encrypt-to", keys.age_recipient, "--overwrite"],
        ["check", str(Path(archive).parent), "--max-age", "100000d"],
        ["prune", str(Path(archive).parent), "--keep-last", "1"],
        ["verify", archive, "-i", str(keys.age_file.parent / "id_ed25519.pub")],
    ]
    env = {"AEROOPS_IDENTITY_FILE": str(keys.age_file), "AEROOPS_LOG_LEVEL": "DEBUG"}
    seen = []
    for args in runs:
        result = run_cli(*args, env=env)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        text = result.stdout + result.stderr
        seen.append(text)
        for secret in keys.secrets():
            assert secret not in text, f"{args} printed a secret"
    assert any("AERO_IDENTITY_PERMISSIONS" in text for text in seen)
    assert any("AERO_AGE_NO_IDENTITY" in text for text in seen)
    # repr of the parsed keys and of the layering never shows them either
    from aeroops.executor.keys import load_identities

    loaded = load_identities([keys.age_file, keys.ssh_file], REAL)
    for secret in keys.secrets():
        assert secret not in repr(loaded) and secret not in str(loaded)


def test_a_secret_given_where_a_recipient_goes_is_refused_and_never_shown(keys: Keys, tmp_path: Path) -> None:
    """A person who pastes the secret key (or names the private key file) where the public one
    goes: refused in one coded line that names where it came from, never quoting what was there."""
    data = copy_fixture("datadir-1000", tmp_path / "data")
    listed = tmp_path / "recipients.txt"
    listed.write_text(f"# ours\n{keys.age_recipient}\n{keys.age_secret}\n")
    mangled = keys.age_secret.replace("AGE-SECRET-KEY-1", "age1", 1)  # no valid key, half a secret
    runs = {
        "--encrypt-to is a secret key": ["--encrypt-to", keys.age_secret],
        "--encrypt-to number 2 is not a valid key": ["--encrypt-to", keys.age_recipient, "--encrypt-to", mangled],
        "line 3 of the recipients file": ["--recipients-file", str(listed)],
        f"line 1 of the recipients file {keys.ssh_file} is a secret key": ["--recipients-file", str(keys.ssh_file)],
    }
    for said, options in runs.items():
        result = run_cli("backup", str(data), "-o", str(tmp_path / "out"), *options)
        assert result.returncode == 2, (options, result.stderr)
        assert result.stderr.startswith("[ERROR] AERO_USAGE: ") and said in result.stderr, result.stderr
        for secret in [*keys.secrets(), mangled.removeprefix("age1")]:
            assert secret not in result.stdout + result.stderr, f"{said}: printed a secret"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("layering", ["zst", "age", "zst.age"])
def test_a_disk_that_fills_while_a_layer_writes_fails_cleanly(tmp_path: Path, keys: Keys, layering: str) -> None:
    """ENOSPC on the n-th write of the stored bytes (from the age thread, for age): the backup's
    own error with the reason, nothing under the final name, no staging left, no thread left."""
    import threading

    from helpers.faults import FailingOps

    from aeroops.errors import BackupIOError

    data = copy_fixture("datadir-1000", tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    kwargs: dict[str, Any] = {
        "zst": {"compress": "zstd"},
        "age": {"encrypt_to": [keys.age_recipient]},
        "zst.age": {"compress": "zstd", "encrypt_to": [keys.age_recipient]},
    }[layering]
    before = tree_state(data)
    with pytest.raises(BackupIOError, match="no space left"):
        run_backup(data, out, created_at=T, ops=FailingOps("write", errno.ENOSPC, nth=2), **kwargs)
    assert list(out.iterdir()) == []
    assert tree_state(data) == before
    assert not [t for t in threading.enumerate() if t.name.startswith("aeroops-age")]
    assert run_backup(data, out, created_at=T, ops=REAL, **kwargs).layers


def _peak_rss(code: str, *args: str) -> int:
    """Peak RSS of a child interpreter running ``code``: its VmHWM at the end (ru_maxrss would
    count the forked image of this test process before the exec)."""
    import sys

    hwm = "\nprint([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    done = subprocess.run([sys.executable, "-c", code + hwm, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1]) * 1024


def test_memory_stays_bounded_through_the_layers(tmp_path: Path, keys: Keys) -> None:
    """A zstd bomb (1 GiB of zeros in ~40 KiB) is refused by verify and restore, and a large
    compressed, encrypted archive verifies, each under the same cap as the plain readers'."""
    import zstandard

    bomb = tmp_path / "bomb.tar.zst"
    with bomb.open("wb") as raw, zstandard.ZstdCompressor(level=3, threads=1).stream_writer(raw) as writer:
        zeros = bytes(1 << 20)
        for _ in range(1024):
            writer.write(zeros)
    assert bomb.stat().st_size < 1 << 20
    verify = (
        "import sys\nfrom aeroops.executor.audit import verify_archive\nfrom aeroops.executor.fileops import REAL\n"
        "r = verify_archive(sys.argv[1], identities=sys.argv[2:], ops=REAL)\n"
        "print(sorted({f.code for f in r.findings}), file=sys.stderr)\n"
        "assert r.ok == (not sys.argv[1].endswith('.zst'))"
    )
    restore = (
        "import sys\nfrom aeroops.errors import RestoreError\nfrom aeroops.executor.restore import restore\n"
        "from aeroops.executor.fileops import REAL\n"
        "try:\n    restore(sys.argv[1], sys.argv[2], create=True, ops=REAL)\n    raise SystemExit(1)\n"
        "except RestoreError:\n    pass"
    )
    cap = 96 << 20  # the layered readers' memory budget
    peaks = {"verify bomb": _peak_rss(verify, str(bomb))}
    peaks["restore bomb"] = _peak_rss(restore, str(bomb), str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()
    from aeroops.demo import DemoSpec, make_demo_datadir

    spec = DemoSpec(seed=3, wal_records=20_000, snapshots=1, storage_bytes=64 << 20)
    data = make_demo_datadir(tmp_path / "big", spec, ops=REAL)
    out = tmp_path / "out"
    out.mkdir()
    made = run_backup(data.data_dir, out, created_at=T, compress="zstd:1", encrypt_to=[keys.age_recipient], ops=REAL)
    assert made.plain_size is not None and made.plain_size > 64 << 20
    peaks["verify zstd+age"] = _peak_rss(verify, made.archive, str(keys.age_file))
    print("\npeak RSS, MiB:", {name: round(peak / (1 << 20), 1) for name, peak in peaks.items()})
    assert all(peak < cap for peak in peaks.values()), peaks


def test_damaged_layers_on_the_command_line(made: dict[str, BackupResult], tmp_path: Path, keys: Keys) -> None:
    """Each kind of layer damage through the CLI: verify exits 1 naming the code, without a
    traceback; restore refuses (FATAL, exit 3) and leaves the data directory as it was."""
    zst = Path(made["zst"].archive).read_bytes()
    age = Path(made["age"].archive).read_bytes()  # several chunks: a flip in the first is no cut
    payload = age.index(b"\n", age.index(b"\n--- ") + 1) + 1 + 16
    assert len(age) > payload + 2 * 65552

    def flipped(data: bytes, offset: int) -> bytes:
        hurt = bytearray(data)
        hurt[offset] ^= 0x20
        return bytes(hurt)

    inside_out = io.BytesIO()
    writer = ZstdWriter(inside_out)
    writer.write(Path(made["age"].archive).read_bytes())
    writer.close()
    cases = {
        "flipped.tar.zst": (flipped(zst, len(zst) // 2), Code.ZSTD_CORRUPT),
        "cut.tar.zst": (zst[: len(zst) // 2], Code.ZSTD_TRUNCATED),
        "trailing.tar.zst": (zst + b"garbage!", Code.ZSTD_TRAILING),
        "mac.tar.age": (flipped(age, payload + 10), Code.AGE_MAC),
        "cut.tar.age": (age[: payload + 65552], Code.AGE_TRUNCATED),
        "cut-inside.tar.age": (age[: payload + 65552 + 700], Code.AGE_TRUNCATED),
        "header.tar.age": (flipped(age, 22), Code.AGE_HEADER),
        "order.tar.age.zst": (inside_out.getvalue(), Code.LAYER_ORDER),
    }
    target = copy_fixture("datadir-nowal", tmp_path / "target")
    before = tree_state(target)
    for name, (data, code) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        verified = run_cli("verify", str(path), "-i", str(keys.age_file))
        assert verified.returncode == 1 and code in verified.stdout, (name, verified.stdout, verified.stderr)
        assert "Traceback" not in verified.stdout + verified.stderr
        restored = run_cli("restore", str(path), str(target), "--yes", "-i", str(keys.age_file))
        assert restored.returncode == 3, (name, restored.stderr)
        assert restored.stderr.startswith("[FATAL] AERO_RESTORE") and "Traceback" not in restored.stderr
        assert tree_state(target) == before, name
