"""Every listener, registered in one place: the built-ins plus the `remediator.listeners`
entry-point group; and how a process builds its bus from them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from remediator import defaults
from remediator.jobs import Job, JobStore
from remediator.lifecycle import Bus, Event, Lifecycle, Listener, ListenerContext
from remediator.lifecycle.bus import Publish
from remediator.listeners.autofix import AutoFix
from remediator.listeners.builtin import EventLog, RuleBreaker
from remediator.listeners.memory import AnalysisMemory
from remediator.listeners.rebuild import RebuildVerification
from remediator.listeners.rollout import RolloutCounter
from remediator.listeners.trends import TrendBuckets
from remediator.metrics.counting import Metrics
from remediator.notify.routing import Notifications
from remediator.remediation_scripts import secret_params_filtered
from remediator.rules import RuleSet
from remediator.sentry.job_reactions import SentryComments, SentryTelemetry, SentryVerification
from remediator.settings import Settings

ENTRY_POINT_GROUP = "remediator.listeners"
"""Third-party packages register `name = "module:ListenerClass"` in this group."""

BUILTINS: tuple[type[Listener], ...] = (
    Metrics,
    EventLog,
    RuleBreaker,
    SentryComments,
    SentryVerification,
    RebuildVerification,
    SentryTelemetry,
    Notifications,
    AutoFix,
    AnalysisMemory,
    TrendBuckets,
    RolloutCounter,
)
"""The listeners that ship with remediator."""

NO_VERIFICATION = "none"
"""The strategy of jobs that only analyse or notify: a success is final, never resolves."""


@lru_cache(maxsize=1)
def listener_classes() -> Mapping[str, type[Listener]]:
    """Every known listener class by name; an entry point may not shadow a built-in."""
    classes = {cls.name: cls for cls in BUILTINS}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        loaded = ep.load()
        if not (isinstance(loaded, type) and issubclass(loaded, Listener)):
            raise RuntimeError(f"entry point {ep.value!r} is not a remediator.lifecycle.Listener")
        if loaded.name in classes:
            raise RuntimeError(
                f"entry point {ep.value!r} registers listener {loaded.name!r}, which already exists"
            )
        classes[loaded.name] = loaded
    return classes


def strategies() -> dict[str, type[Listener] | None]:
    """Verification strategies by the name rules use (`none` has no listener)."""
    found: dict[str, type[Listener] | None] = {NO_VERIFICATION: None}
    for cls in listener_classes().values():
        if cls.strategy:
            found[cls.strategy] = cls
    return found


def will_verify(job: Job, settings: Settings) -> bool:
    """Whether the job's success will be checked later by its strategy."""
    strategy = strategies().get(job.verification)
    return strategy is not None and strategy.will_verify(job, settings)


def wire(event: Event) -> dict[str, Any]:
    """An event as a Celery message carries it: params marked secret are [Filtered], notes
    are left out (a listener reads the record when it needs them)."""
    document = event.model_dump(mode="json")
    if event.job is not None:
        document["job"]["params"] = secret_params_filtered(event.job.script, document["job"]["params"])
        document["job"]["notes"] = []
    return document


def publisher(celery: Any) -> Publish:
    """One message per event to the remote listeners that want it, on the event's tier
    queue, first in line."""

    def publish(event: Event, names: list[str]) -> None:
        tier = event.tier or defaults.DEFAULT_TIERS[0]
        celery.send_task(
            defaults.DELIVER_TASK,
            args=[wire(event), names, 1],
            queue=defaults.queue_for(tier),
            priority=defaults.FOLLOWUP_PRIORITY,
            ignore_result=True,
        )

    return publish


def build_bus(
    settings: Settings,
    store: JobStore,
    celery: Any = None,
    extra: Sequence[Listener] = (),
    rules: RuleSet | Callable[[], RuleSet] | None = None,
) -> Bus:
    """The bus of this process: every active listener (and extra ones, for tests)."""
    ctx = ListenerContext(
        settings, store, celery, will_verify=lambda job: will_verify(job, settings), rules=rules
    )
    listeners = [cls(ctx) for cls in listener_classes().values() if cls.active(ctx)]
    bus = Bus([*listeners, *extra], publish=publisher(celery) if celery is not None else None, store=store)
    ctx.emit = bus.emit
    ctx.bus = bus
    return bus


def build_lifecycle(
    settings: Settings,
    store: JobStore,
    celery: Any = None,
    rules: RuleSet | Callable[[], RuleSet] | None = None,
) -> Lifecycle:
    """The lifecycle of this process, its events going to every active listener (those that
    follow the rule file, such as notifications, only when it is given)."""
    return Lifecycle(store, build_bus(settings, store, celery, rules=rules))
