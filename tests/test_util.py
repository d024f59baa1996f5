"""The one home of the small helpers: atomic writes and the units every surface shows."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gemma_chat.util import atomic
from gemma_chat.util.atomic import atomic_write_bytes, atomic_write_text
from gemma_chat.util.units import format_bytes, format_duration

POSIX = os.name == "posix"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- atomic writes --------------------------------------------------------------------


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write_text(target, '{"a": 1}')
    assert target.read_text(encoding="utf-8") == '{"a": 1}'
    atomic_write_bytes(target, b"\x00\xffnew")
    assert target.read_bytes() == b"\x00\xffnew"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no temp file left


@pytest.mark.skipif(not POSIX, reason="POSIX file modes")
def test_atomic_write_is_private_unless_told(tmp_path: Path) -> None:
    private, shared = tmp_path / "token.json", tmp_path / "page.html"
    old = os.umask(0o022)
    try:
        atomic_write_text(private, "secret")
        atomic_write_bytes(shared, b"<p>", mode=0o644)
        atomic_write_text(private, "replaced")  # a replacement is private too
    finally:
        os.umask(old)
    assert _mode(private) == 0o600
    assert _mode(shared) == 0o644


def test_atomic_write_keeps_text_as_given(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    atomic_write_text(target, "line one\r\nline two\nü")
    assert target.read_bytes() == "line one\r\nline two\nü".encode()


def test_failure_mid_write_keeps_the_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "installed.json"
    atomic_write_text(target, "old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        atomic_write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["installed.json"]


def test_failure_in_rename_leaves_no_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "server.json"

    def broken_replace(src: str, dst: object) -> None:
        raise PermissionError("locked")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(PermissionError):
        atomic_write_bytes(target, b"x")
    assert list(tmp_path.iterdir()) == []


def test_not_durable_skips_fsync_but_still_renames(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(atomic.os, "fsync", calls.append)
    atomic_write_bytes(tmp_path / "a", b"1", durable=False, prefix=".gcw-", suffix=".tmp")
    assert calls == []
    assert (tmp_path / "a").read_bytes() == b"1"
    atomic_write_bytes(tmp_path / "a", b"2")
    assert len(calls) == (2 if POSIX else 1)  # the file, then its folder (POSIX)


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "nowhere" / "file", "x")


# ---- units ----------------------------------------------------------------------------
# One table for both languages: tests/browser/test_format_js.py checks ui/format.js with it.

BYTES = [
    (0, "0 B"),
    (1, "1 B"),
    (999, "999 B"),
    (999.6, "1 kB"),
    (1000, "1 kB"),
    (1250, "1.3 kB"),  # half up, in both languages
    (1500, "1.5 kB"),
    (99_950, "100 kB"),
    (999_949, "999.9 kB"),
    (999_950, "1 MB"),  # 1000.0 kB is 1 MB
    (48_000_000, "48 MB"),
    (100_000_000, "100 MB"),
    (104_857_600, "104.9 MB"),  # 100 MiB, in decimal units
    (1_200_000_000, "1.2 GB"),
    (2_550_000_000, "2.6 GB"),
    (5_100_000_000, "5.1 GB"),
    (4_000_000_000, "4 GB"),
    (12_345_678_901_234, "12.3 TB"),
    (-1500, "-1.5 kB"),
]

DURATIONS = [
    (0, "0 s"),
    (0.4, "0 s"),
    (1, "1 s"),
    (59.4, "59 s"),
    (59.6, "1 min"),
    (80, "1 min"),
    (90, "2 min"),
    (3599, "1 h"),
    (3630, "1 h 1 min"),
    (3900, "1 h 5 min"),
    (7199, "2 h"),
    (4 * 3600, "4 h"),
    (-1, ""),
]


@pytest.mark.parametrize(("n", "text"), BYTES)
def test_format_bytes(n: float, text: str) -> None:
    assert format_bytes(n) == text


@pytest.mark.parametrize(("seconds", "text"), DURATIONS)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_unknown_values_format_as_nothing() -> None:
    assert format_bytes(float("nan")) == format_duration(float("inf")) == ""
