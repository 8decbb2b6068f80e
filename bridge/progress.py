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

ProgressFn = Callable[[int, int], None]  # (done, total), e.g. simulated milliseconds


@contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[ProgressFn | None]:
    """Yield an `update(done, total)` function, or None when no bar should be shown."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar = Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>5.1f}%"), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=1)
    with bar:
        yield lambda done, total: bar.update(task, total=total, completed=done)
