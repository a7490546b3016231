"""kombu's Sentinel transport, with one repair: a Celery worker survives the loss of the
master.

When the master dies, the worker's consumer closes its broker connection; closing the
channel restores the unacknowledged messages (a worker holds many: every verification
waiting for its window), which needs a new connection pool, which kombu builds from
`channel.connection.client` (its address and its list of Sentinels) — already None by then.
The worker died with `AttributeError: 'NoneType' object has no attribute 'hostname'` (or
`'alt'`), "Unrecoverable error", instead of reconnecting to the promoted replica (kombu
5.7.0; tests/test_failover.py). The channel here remembers the address it was opened with.
Registered for the `sentinel://` scheme by `remediator.worker.celery_app`."""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.redis import SentinelChannel, SentinelTransport


class Channel(SentinelChannel):
    """A Sentinel channel that can still build its pool while its connection closes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._opened_with = self.connection.client

    def _get_pool(self, asynchronous: bool = False) -> Any:
        if self.connection.client is not None or self._opened_with is None:
            return super()._get_pool(asynchronous=asynchronous)  # type: ignore[no-untyped-call]
        # Closing: the transport has let go of its connection; build the pool from the
        # address this channel was opened with (only for as long as that takes).
        self.connection.client = self._opened_with
        try:
            return super()._get_pool(asynchronous=asynchronous)  # type: ignore[no-untyped-call]
        finally:
            self.connection.client = None


class Transport(SentinelTransport):
    """kombu's Sentinel transport with the channel above."""

    Channel = Channel


def register() -> None:
    """Use this transport for `sentinel://` broker URLs in this process."""
    TRANSPORT_ALIASES["sentinel"] = f"{__name__}:Transport"
