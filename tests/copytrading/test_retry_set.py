"""TimePassed retries refused closes from an incremental set, not a sort of every subscription.

Issue 10, "Bounded memory and I/O" / fair ingestion: an engine tick at 3 000 subscriptions must
not sort them all. The set must give byte-identical engine outputs: for random activity (opens,
closes, some closes refused by the server, time passing, stops, restarts), the commands and
records are the same as with the full scan it replaced.
"""

from __future__ import annotations

from contextlib import contextmanager

from hypothesis import given
from hypothesis import strategies as st

from bridge.copytrading import CloseCopy, CommandRefused, TimePassed
from bridge.copytrading import engine as engine_module
from tests.copytrading.test_properties import SETTINGS, Run, action, run

REQUOTE = 10004  # a refused close the engine retries when time passes


def _full_scan(self, e: TimePassed) -> None:
    """The old tick: every live subscription with copies, sorted by id."""
    self._retry_closes([sub for sub in self._live() if sub.copies])


@contextmanager
def _old_tick():
    handlers = engine_module._HANDLERS
    new = handlers[TimePassed]
    handlers[TimePassed] = _full_scan
    try:
        yield
    finally:
        handlers[TimePassed] = new


class RefusingCloses(Run):
    """Refuses the CloseCopy commands whose index is in `refuse_closes` (REQUOTE: retried)."""

    refuse_closes: frozenset[int] = frozenset()

    def answer(self, cmd):
        if isinstance(cmd, CloseCopy):
            self.n_close = getattr(self, "n_close", 0) + 1
            if self.n_close in self.refuse_closes:
                return self.handle(CommandRefused(self.tick(), cmd.key, REQUOTE, "requote"))
        return super().answer(cmd)


def _outputs(actions, refuse, refuse_closes, restarts):
    import tests.copytrading.test_properties as props

    RefusingCloses.refuse_closes = frozenset(refuse_closes)
    props_run, props_check = props.Run, props.check
    props.Run = RefusingCloses
    props.check = lambda w: None  # its "no copy outlives its trader position" needs every close filled
    try:
        w = run(actions, refuse, restarts=restarts)
    finally:
        props.Run, props.check = props_run, props_check
    return [repr(c) for c in w.log], [repr(r) for s in w.steps for r in s.records], w.engine.to_bytes()


@SETTINGS
@given(actions=st.lists(action, max_size=40), refuse=st.sets(st.integers(1, 40), max_size=5),
       refuse_closes=st.sets(st.integers(1, 60), max_size=20), restarts=st.sampled_from([False, True, "bytes"]))
def test_the_retry_set_gives_the_same_commands_and_records_as_the_full_scan(actions, refuse, refuse_closes,
                                                                            restarts):
    new = _outputs(actions, refuse, refuse_closes, restarts)
    with _old_tick():
        old = _outputs(actions, refuse, refuse_closes, restarts)
    assert new == old


def test_a_refused_close_is_retried_when_time_passes():
    """The example the set must not miss: one close refused, then time passes."""
    actions = [("open", "EURUSD", 10, True), ("close", 0, "client"), ("time", 1000), ("time", 1000)]
    commands, _records, _ = _outputs(actions, (), {1}, False)
    closes = [c for c in commands if c.startswith("CloseCopy")]
    with _old_tick():
        old_closes = [c for c in _outputs(actions, (), {1}, False)[0] if c.startswith("CloseCopy")]
    assert len(closes) > 3 and closes == old_closes  # three subscriptions; the refused one went again
