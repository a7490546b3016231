"""The lifecycle: one module moves jobs along a table of transitions and emits exactly one
event for each; listeners plug in without touching dispatch, runner or tasks, and a
listener that fails changes nothing but its own note."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from remediator.errors import TransitionNotAllowed
from remediator.jobs import FINISHED, JobStatus, JobStore, redis_client
from remediator.lifecycle import TRANSITIONS, Bus, Event, EventKind, Lifecycle, Listener, ListenerContext
from remediator.lifecycle.transitions import CREATED
from remediator.listeners import build_bus, listener_classes
from remediator.settings import get_settings
from remediator.testing import RecordingListener
from remediator.testing.factories import make_job
from remediator.worker.celery_app import create_celery
from tests.helpers import encode, installed_plugin, payload, queued_messages, queued_tasks, sentry_headers


def lifecycle_with(broker_url: str, *listeners: Listener) -> Lifecycle:
    store = JobStore(redis_client(broker_url))
    return Lifecycle(store, Bus(listeners, store=store))


class Exploding(Listener):
    """Raises on every success it sees."""

    name = "exploding"

    def on_succeeded(self, event: Event) -> str | None:
        raise RuntimeError("boom")


def context(broker_url: str) -> ListenerContext:
    return ListenerContext(get_settings(), JobStore(redis_client(broker_url)))


@pytest.mark.parametrize(("old", "new"), list(TRANSITIONS), ids=[f"{o}->{n}" for o, n in TRANSITIONS])
def test_every_transition_in_the_table_emits_exactly_one_event(redis_db, broker_url, old, new) -> None:
    # Given a job in the first status
    recorder = RecordingListener()
    life = lifecycle_with(broker_url, recorder)
    job = life.store.create(make_job(status=old))
    # When it moves
    moved = life.move(job, old, new, actor="someone")
    # Then the record changed and exactly one event, the table's, says so with the new state
    assert moved is not None and moved.status == new
    assert recorder.kinds() == [TRANSITIONS[(old, new)]]
    assert recorder.seen[0].job is not None and recorder.seen[0].job.status == new
    assert recorder.seen[0].actor == "someone"
    # and the job's timeline keeps it, with the actor
    timeline = life.store.get(job.id).timeline
    assert [(e["event"], e["actor"]) for e in timeline] == [(TRANSITIONS[(old, new)].value, "someone")]
    if old != new:  # a stale second move (the job already left `old`) changes and emits nothing
        assert life.move(job, old, new) is None
        assert len(recorder.seen) == 1


@pytest.mark.parametrize("status", list(CREATED))
def test_a_new_record_emits_the_event_of_its_first_status(redis_db, broker_url, status) -> None:
    recorder = RecordingListener()
    life = lifecycle_with(broker_url, recorder)
    job = life.store.create(make_job(status=status))
    life.created(job)
    assert recorder.kinds() == [CREATED[status]]


def test_a_change_the_table_does_not_have_is_refused_and_changes_nothing(redis_db, broker_url) -> None:
    recorder = RecordingListener()
    life = lifecycle_with(broker_url, recorder)
    job = life.store.create(make_job(status=JobStatus.SUCCEEDED))
    with pytest.raises(TransitionNotAllowed, match="from succeeded to queued"):
        life.move(job, JobStatus.SUCCEEDED, JobStatus.QUEUED)
    assert life.store.get(job.id).status == JobStatus.SUCCEEDED
    assert recorder.seen == []


def test_every_status_is_reachable_and_finished_jobs_only_move_to_a_verdict() -> None:
    reachable = set(CREATED)
    while True:
        more = {new for (old, new) in TRANSITIONS if old in reachable} - reachable
        if not more:
            break
        reachable |= more
    assert reachable == set(JobStatus)
    leaving = {old for (old, _) in TRANSITIONS}
    assert leaving & FINISHED == {JobStatus.SUCCEEDED}  # succeeded -> verified | ineffective


def test_claim_emits_started_with_the_attempt(redis_db, broker_url) -> None:
    recorder = RecordingListener()
    life = lifecycle_with(broker_url, recorder)
    job = life.store.create(make_job())
    assert not isinstance(life.claim(job.id, "w1@host"), str)
    assert not isinstance(life.claim(job.id, "w2@host"), str)  # a redelivery after a crash
    assert life.claim("no-such-job", "w1@host") == "no record"
    assert [(e.kind, e.detail["attempt"], e.actor) for e in recorder.seen] == [
        (EventKind.STARTED, 1, "w1@host"),
        (EventKind.STARTED, 2, "w2@host"),
    ]


def test_a_raising_listener_changes_neither_the_outcome_nor_the_other_listeners(redis_db, broker_url) -> None:
    # Given a listener that raises, registered before one that records
    recorder = RecordingListener()
    life = lifecycle_with(broker_url, Exploding(context(broker_url)), recorder)
    job = life.store.create(make_job(status=JobStatus.RUNNING, attempts=1))
    # When the job succeeds
    moved = life.move(job, JobStatus.RUNNING, JobStatus.SUCCEEDED)
    # Then the outcome stands, the other listener heard it, and the failure is on the job
    assert moved is not None and life.store.get(job.id).status == JobStatus.SUCCEEDED
    assert recorder.kinds() == [EventKind.SUCCEEDED]
    [note] = life.store.get(job.id).notes
    assert (note["kind"], note["listener"], note["event"], note["ok"]) == (
        "listener",
        "exploding",
        "succeeded",
        False,
    )
    assert note["error"] == "RuntimeError: boom"


def test_an_event_nobody_remote_wants_sends_no_message(redis_db, broker_url) -> None:
    published: list[tuple[EventKind, list[str]]] = []
    ctx = context(broker_url)

    class Remote(Listener):
        name = "remote"
        remote = True

        def on_failed(self, event: Event) -> str | None:
            return None

        def on_succeeded(self, event: Event) -> str | None:
            return None

    class AlsoRemote(Remote):
        name = "also-remote"

    store = JobStore(redis_client(broker_url))
    life = Lifecycle(
        store,
        Bus([Remote(ctx), AlsoRemote(ctx)], publish=lambda e, n: published.append((e.kind, n)), store=store),
    )
    job = store.create(make_job(status=JobStatus.RUNNING, attempts=1))
    life.created(store.create(make_job(status=JobStatus.DUPLICATE)))  # nobody wants it
    life.move(job, JobStatus.RUNNING, JobStatus.SUCCEEDED)  # both want it: one message
    assert published == [(EventKind.SUCCEEDED, ["remote", "also-remote"])]


RAISING_PLUGIN = """
from remediator.lifecycle import Listener

class Raising(Listener):
    name = "raising"

    def on_submitted(self, event):
        raise ValueError("listener bug")
"""

RULES = """
rules:
  - name: plain
    match: {title: {contains: Plugged}}
    job: {script: noop, tier: nonprod, class: C, namespace: t}
"""


def test_a_listener_from_the_entry_point_group_that_raises_leaves_the_webhook_answer_alone(
    tmp_path: Path, make_app, idle_redis, idle_broker_url
) -> None:
    # Given a third-party listener, installed through the entry-point group, that raises
    with installed_plugin(
        tmp_path,
        "acme_listeners",
        RAISING_PLUGIN,
        "remediator.listeners",
        {"raising": "acme_listeners:Raising"},
    ):
        listener_classes.cache_clear()
        try:
            assert "raising" in listener_classes()
            client = make_app(RULES, broker=idle_broker_url).test_client()
            document = payload("issue_created")
            document["data"]["issue"]["title"] = "Plugged in"
            body = encode(document)
            # When a webhook submits a job
            response = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body))
        finally:
            listener_classes.cache_clear()
    # Then the answer and the queued job are as without it, and the failure is on the job
    assert response.status_code == 202
    [job] = response.get_json()["jobs"]
    assert job["status"] == "queued"
    assert [task for task, _ in queued_tasks(idle_redis, "remediator.nonprod")] == ["remediator.run_job"]
    notes = JobStore(redis_client(idle_broker_url)).get(job["id"]).notes
    assert [(n["listener"], n["event"], n["ok"], n["error"]) for n in notes] == [
        ("raising", "submitted", False, "ValueError: listener bug")
    ]


def test_one_message_fans_an_event_out_to_every_remote_listener(idle_redis, idle_broker_url) -> None:
    # Given write-back configured (comments and verification are remote; the breaker only
    # wants bad outcomes)
    store = JobStore(redis_client(idle_broker_url))
    life = Lifecycle(store, build_bus(get_settings(), store, create_celery(idle_broker_url)))
    job = store.create(make_job(status=JobStatus.RUNNING, attempts=1, sentry_issue_id="77"))
    # When the job succeeds
    life.move(job, JobStatus.RUNNING, JobStatus.SUCCEEDED)
    # Then exactly one message went out, naming every remote listener that wants it
    [(task, _)] = queued_tasks(idle_redis, "remediator.nonprod")
    assert task == "remediator.deliver"
    [[message]] = queued_messages(idle_redis, "remediator.nonprod").values()
    args, _, _ = json.loads(base64.b64decode(message["body"]))
    assert args[1] == ["sentry-comments", "sentry-verification"]


TIMELINE_RULES = """
rules:
  - name: careful
    approval: true
    match: {title: {contains: Careful}}
    job: {script: noop, tier: nonprod, class: B, namespace: t}
"""


def test_a_jobs_timeline_keeps_every_event_with_its_time_and_actor(
    make_app, workers, redis_db, broker_url
) -> None:
    from tests.helpers import TOKEN, bearer, person, wait_for

    client = make_app(TIMELINE_RULES).test_client()
    document = payload("issue_created")
    document["data"]["issue"]["title"] = "Careful now"
    body = encode(document)
    # Given a job that waits for approval, and the same delivery again
    [job] = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body)).get_json()[
        "jobs"
    ]
    again = client.post("/sentry/webhook", data=body, headers=sentry_headers("issue", body)).get_json()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # When a person approves it and it runs
    assert (
        client.post(
            f"/api/jobs/{job['id']}/approve",
            headers=bearer(
                person(client.application.extensions["remediator"].store.client, "alice", "approver")
            ),
        ).status_code
        == 200
    )
    store = JobStore(redis_client(broker_url))
    wait_for(lambda: store.get(job["id"]).status == JobStatus.SUCCEEDED, what="the job to succeed")
    # Then its timeline tells the story in order, with who did what
    timeline = client.get(f"/api/jobs/{job['id']}", headers=auth).get_json()["timeline"]
    assert [(e["event"], e["actor"]) for e in timeline][:2] == [
        ("awaiting_approval", None),
        ("approved", "alice"),
    ]
    assert [e["event"] for e in timeline[2:]] == ["started", "succeeded"]
    assert timeline[2]["actor"].startswith("nonprod-test@") and timeline[2]["attempt"] == 1
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    # And the repeated delivery's record says only that it was a duplicate
    duplicate = next(j for j in store.list(rule="careful") if j.status == JobStatus.DUPLICATE)
    assert again["status"] == "duplicate"
    assert [e["event"] for e in store.get(duplicate.id).timeline] == ["duplicate"]
