"""Per-connection sequence numbers: a time-free state machine and a counter.

Inbound (`SequenceTracker`): the opening message (`hello` on the daemon side,
`welcome` on the terminal side) with seq 1 (re)starts the connection; every later
message must carry last + 1. Lower-or-equal is a replay, higher is a gap; both are
refused with their own code and leave the state unchanged.

Outbound (`OutboundCounter`): hands out (id, seq) for the messages we send; ids keep
growing across reconnects (unique per sender), seq restarts at 1 on each connection.
"""

from __future__ import annotations

from bridge.protocol import errors as E
from bridge.protocol.errors import ProtocolError
from bridge.protocol.messages import Message


class SequenceTracker:
    """Inbound seq of one connection. `start_type` is "hello" (daemon) or "welcome" (terminal)."""

    __slots__ = ("_last", "start_type")

    def __init__(self, start_type: str = "hello") -> None:
        self.start_type = start_type
        self._last = 0  # 0 = not started

    @property
    def last_seq(self) -> int:
        """Seq of the last accepted message, 0 before the opening message."""
        return self._last

    @property
    def started(self) -> bool:
        return self._last > 0

    def accept(self, message: Message) -> ProtocolError | None:
        """Accept `message` (advancing the state) or return why it is refused."""
        return self.check(message.TYPE, message.seq, message.id)

    def check(self, type_: str, seq: int, ref_id: int = 0) -> ProtocolError | None:
        """As `accept`, from the bare envelope fields."""
        if type_ == self.start_type:
            if seq != 1:
                return ProtocolError(E.BAD_START_SEQ, f"{type_} must carry seq 1, got {seq}", "seq", ref_id)
            self._last = 1
            return None
        if self._last == 0:
            return ProtocolError(E.NOT_STARTED, f"expected {self.start_type} first, got {type_}", "type", ref_id)
        if seq <= self._last:
            return ProtocolError(E.SEQUENCE_REPLAY, f"seq {seq} <= last {self._last}", "seq", ref_id)
        if seq != self._last + 1:
            return ProtocolError(E.SEQUENCE_GAP, f"seq {seq}, expected {self._last + 1}", "seq", ref_id)
        self._last = seq
        return None


class OutboundCounter:
    """(id, seq) for outgoing messages. Call `restart()` before sending hello/welcome."""

    __slots__ = ("_next_id", "_next_seq")

    def __init__(self, next_id: int = 1) -> None:
        if next_id < 1:
            raise ValueError("message ids start at 1")
        self._next_id = next_id  # persist it (or derive it from the journal) to stay unique
        self._next_seq = 1

    @property
    def next_id(self) -> int:
        return self._next_id

    def restart(self) -> None:
        """A new connection: the next message (hello/welcome) gets seq 1; ids continue."""
        self._next_seq = 1

    def next(self) -> tuple[int, int]:
        """Reserve the (id, seq) of the next message sent on this connection."""
        ids = (self._next_id, self._next_seq)
        self._next_id += 1
        self._next_seq += 1
        return ids
