"""A progress bar for long runs (`simulate`, `demo`): rich, on stderr, only for people.

Shell code: no bar when stderr is not a terminal or when the output is JSON, so piped and
machine-read output stays clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

ProgressFn = Callable[..., None]  # (done, total, note=""), e.g. simulated milliseconds and the simulated date


@contextmanager
def progress_bar(label: str, *, enabled: bool = True, console: Console | None = None) -> Iterator[ProgressFn | None]:
    """Yield an `update(done, total, note="")` function, or None when no bar should be shown.
    `note` is printed after the bar (the simulated date). `console`: draw there (tests), even
    when stderr is not a terminal."""
    if not enabled or (console is None and not sys.stderr.isatty()):
        yield None
        return
    bar = Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>5.1f}%"), TimeRemainingColumn(),
                   TextColumn("{task.fields[note]}"), console=console or Console(stderr=True), transient=True)
    task = bar.add_task(label, total=1, note="")
    with bar:
        yield lambda done, total, note="": bar.update(task, total=total, completed=done, note=note)
