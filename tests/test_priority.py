"""Priority holds under backlog: a class-A job overtakes a queue full of class-C jobs."""

from __future__ import annotations

from pathlib import Path

import redis

from remediator.defaults import PriorityClass
from remediator.jobs import JobStatus
from remediator.payloads import Subject
from remediator.rules.engine import JobSpec
from remediator.testing.factories import make_dispatcher, make_spec, make_subject
from tests.helpers import clean, running_worker, wait_for

BACKLOG = 40


def spec(klass: PriorityClass, rule: str, n: int) -> JobSpec:
    return make_spec(
        rule=rule, script="run-command", tier="prod", priority_class=klass, params={"argv": ["sleep", "0.05"]}
    )


def issue(n: int) -> Subject:
    return make_subject(issue_id=str(n))


def test_class_a_submitted_after_a_class_c_backlog_starts_before_it_drains(
    broker_url: str, log_dir: Path
) -> None:
    # Given a tier whose worker is down and whose queue holds a backlog of class-C jobs
    backlog_url = broker_url.rsplit("/", 1)[0] + "/1"
    raw = redis.Redis.from_url(backlog_url)
    clean(raw)
    dispatcher = make_dispatcher(backlog_url)
    store = dispatcher.store
    backlog = [dispatcher.submit(spec(PriorityClass.C, "backlog", n), issue(n)) for n in range(BACKLOG)]
    # When a class-A job is submitted after them and the worker comes up
    urgent = dispatcher.submit(spec(PriorityClass.A, "urgent", BACKLOG), issue(BACKLOG))
    env = {"REMEDIATOR_BROKER_URL": backlog_url}
    with running_worker("prod", log_dir, env=env, concurrency=1, name="prio"):
        jobs = wait_for(
            lambda: (lambda js: js if all(j and j.status == JobStatus.SUCCEEDED for j in js) else None)(
                [store.get(j.id) for j in [*backlog, urgent]]
            ),
            timeout=60,
            interval=0.2,
            what="backlog to drain",
        )
    # Then the class-A job started first, long before the backlog drained
    starts = sorted(jobs, key=lambda j: j.started_at or 0)
    assert starts[0].id == urgent.id, [j.rule for j in starts[:5]]
    last_backlog_start = max(j.started_at or 0 for j in jobs if j.rule == "backlog")
    assert (starts[0].started_at or 0) < last_backlog_start
    clean(raw)
