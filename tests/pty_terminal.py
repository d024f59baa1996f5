"""A program run in a real pseudo-terminal, for tests of interactive commands.

The child gets the terminal as its controlling tty and runs in the foreground, so keys
behave as a user's would: Ctrl+C (\\x03) raises SIGINT in cooked mode and arrives as a key
in raw mode, arrow keys arrive as escape sequences. Cursor-position requests are answered
like a terminal emulator answers them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time
from collections.abc import Mapping, Sequence

ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]"
)
CPR_REQUEST = b"\x1b[6n"

UP = "\x1b[A"
CTRL_C = "\x03"
CTRL_D = "\x04"
CTRL_R = "\x12"
ENTER = "\r"


def plain(raw: str) -> str:
    """What is on screen without the escape sequences (and without carriage returns)."""
    return ANSI.sub("", raw).replace("\r", "")


class Terminal:
    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cols: int = 100,
        rows: int = 40,
    ) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal already
            try:
                os.execve(argv[0], list(argv), dict(env))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.raw = b""
        self.mark = 0  # expect() looks at what came after this point
        self.status: int | None = None

    # -- output ---------------------------------------------------------------------------

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            raise EOFError("the program closed the terminal")
        tail = self.raw[-len(CPR_REQUEST) :]
        self.raw += chunk
        for _ in range((tail + chunk).count(CPR_REQUEST)):
            os.write(self.fd, b"\x1b[1;1R")
        return True

    def text(self, since: int | None = None) -> str:
        start = self.mark if since is None else since
        return self.raw[start:].decode("utf-8", "replace")

    def expect(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """Wait until the screen text after the mark matches; move the mark past it."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            screen = plain(self.text())
            if match := regex.search(screen):
                self._advance(screen, match.end())
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen in {timeout}s; screen:\n{screen}")
            try:
                self._read(min(left, 0.5))
            except EOFError:
                message = f"{pattern!r} not seen before exit; screen:\n{screen}"
                raise AssertionError(message) from None

    def _advance(self, screen: str, end: int) -> None:
        """Move the mark to the raw byte whose plain text ends at `end`."""
        raw = self.raw[self.mark :]
        lo, hi = 0, len(raw)
        while lo < hi:  # the shortest raw prefix whose plain text reaches `end`
            mid = (lo + hi) // 2
            if len(plain(raw[:mid].decode("utf-8", "replace"))) >= end:
                hi = mid
            else:
                lo = mid + 1
        self.mark += lo

    def settle(self, quiet: float = 0.3, timeout: float = 10) -> None:
        """Read until nothing arrives for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not self._read(quiet):
                    return
            except EOFError:
                return

    def skip(self) -> None:
        """Forget what arrived so far: the next expect() looks only at new output."""
        self.mark = len(self.raw)

    # -- input ----------------------------------------------------------------------------

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    # -- life -----------------------------------------------------------------------------

    def alive(self) -> bool:
        if self.status is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.status = os.waitstatus_to_exitcode(status)
        return False

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout}s:\n{plain(self.text(0))}")
            with contextlib.suppress(EOFError):
                self._read(0.1)
        assert self.status is not None
        return self.status

    def close(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = -9
        with contextlib.suppress(OSError):
            os.close(self.fd)
