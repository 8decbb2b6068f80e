"""Keys of the console monitor: the pure part (bytes -> key names -> scroll state) and the shell
that reads them from a terminal in cbreak mode.

`q` quits; up/down or k/j scroll the focused pane one row, PgUp/PgDn (or b/space) one page,
Home/End (g/G) to the top/bottom; Tab switches the focus between the accounts and the events
pane. With stdin not a terminal there are no keys (and no hint line): Ctrl-C still quits.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

ACCOUNTS, EVENTS = "accounts", "events"
HINT = "q quit  ↑↓/jk scroll  PgUp/PgDn page  Tab pane"

# Escape sequences of the keys we use (xterm / VT100 and the application-mode variants).
_SEQUENCES = {b"\x1b[A": "up", b"\x1bOA": "up", b"\x1b[B": "down", b"\x1bOB": "down", b"\x1b[5~": "pgup",
              b"\x1b[6~": "pgdn", b"\x1b[H": "home", b"\x1bOH": "home", b"\x1b[1~": "home", b"\x1b[F": "end",
              b"\x1bOF": "end", b"\x1b[4~": "end"}
_SINGLE = {"q": "quit", "Q": "quit", "k": "up", "j": "down", "b": "pgup", " ": "pgdn", "g": "home", "G": "end",
           "\t": "tab"}


def parse_keys(data: bytes) -> list[str]:
    """Raw terminal bytes -> key names; anything unknown (other escapes, letters) is dropped."""
    out: list[str] = []
    i = 0
    while i < len(data):
        if data[i] == 0x1B:
            for seq, name in _SEQUENCES.items():
                if data.startswith(seq, i):
                    out.append(name)
                    i += len(seq)
                    break
            else:  # an unknown escape: skip it whole (ESC [ params final-byte) so its letters are no keys
                j = i + 1
                if j < len(data) and data[j : j + 1] in (b"[", b"O"):
                    j += 1
                    while j < len(data) and not 0x40 <= data[j] <= 0x7E:
                        j += 1
                    j += 1
                i = j
            continue
        name = _SINGLE.get(chr(data[i]))
        if name:
            out.append(name)
        i += 1
    return out


@dataclass(frozen=True, slots=True)
class Scroll:
    """Which pane has the keys and how far each is scrolled (rows from the top). Offsets are
    clamped by the renderer, which alone knows the row counts and page sizes."""

    focus: str = ACCOUNTS
    accounts: int = 0
    events: int = 0
    page: int = 10  # rows per PgUp/PgDn; the renderer sets it to the focused pane's height
    quit: bool = False

    def press(self, key: str) -> Scroll:
        if key == "quit":
            return replace(self, quit=True)
        if key == "tab":
            return replace(self, focus=EVENTS if self.focus == ACCOUNTS else ACCOUNTS)
        step = {"up": -1, "down": 1, "pgup": -self.page, "pgdn": self.page, "home": -10**9, "end": 10**9}.get(key)
        if step is None:
            return self
        now = self.accounts if self.focus == ACCOUNTS else self.events
        new = max(0, min(now + step, 10**9))
        return replace(self, **{self.focus: new})

    def clamp(self, pane: str, rows: int, shown: int) -> int:
        """The offset of `pane` kept so its last page is full: 0 .. rows - shown."""
        return max(0, min(getattr(self, pane), rows - shown))


class KeyReader:
    """Reads keys from a terminal in a thread (cbreak mode, restored on stop) and hands each to
    `on_key`. `start()` returns False and does nothing when `stream` is not a terminal."""

    def __init__(self, on_key: Callable[[str], None], stream: object = None) -> None:
        self.on_key = on_key
        self.stream = stream if stream is not None else sys.stdin
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved: list | None = None
        self._fd = -1

    def start(self) -> bool:
        try:
            import termios
            import tty

            fd = self.stream.fileno()  # type: ignore[attr-defined]
            if not os.isatty(fd):
                return False
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd, termios.TCSANOW)  # keep keys typed before the start (TCSAFLUSH drops them)
        except (ImportError, OSError, ValueError, AttributeError):
            return False
        self._fd = fd
        self._thread = threading.Thread(target=self._run, name="mtbridge-monitor-keys", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self._fd, 64)
            except OSError:
                return
            if not data:
                return
            for key in parse_keys(data):
                self.on_key(key)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        if self._saved is not None:
            import termios

            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            self._saved = None
