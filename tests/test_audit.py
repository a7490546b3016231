"""The audit trail: every operator action and sign-in through the console, the API and the
CLI is an entry that carries the hash of the one before it; `remediator audit verify` proves
the chain whole, and names the right entry after one is deleted by hand in Redis."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from remediator.audit.chain import GENESIS, Stored, broken_at, canonical, link
from remediator.audit.trail import STREAM_KEY, AuditTrail
from remediator.jobs import JobStatus, JobStore, redis_client
from remediator.testing.factories import make_job
from tests.helpers import TOKEN, bearer, person, remediator_command, wait_for
from tests.test_dashboard import csrf

AUTH = {"Authorization": f"Bearer {TOKEN}"}

# -- pure -----------------------------------------------------------------------------


def chain_of(*entries: dict[str, Any]) -> list[Stored]:
    stored, previous = [], GENESIS
    for n, entry in enumerate(entries):
        digest = link(previous, entry)
        stored.append(Stored(f"{n}-0", canonical(entry), previous, digest))
        previous = digest
    return stored


def test_a_whole_chain_verifies_and_a_deleted_or_edited_entry_is_found() -> None:
    kept = chain_of(
        {"action": "approve", "actor": "a"}, {"action": "pause", "actor": "b"}, {"action": "resume"}
    )
    assert broken_at(kept) is None
    deleted = [kept[0], kept[2]]
    assert broken_at(deleted) == (
        1,
        "entry 2-0 does not follow 0-0: an entry between them was deleted (or this one was moved)",
    )
    edited = [
        kept[0],
        Stored("1-0", canonical({"action": "pause", "actor": "mallory"}), kept[1].previous, kept[1].hash),
        kept[2],
    ]
    assert broken_at(edited) == (1, "entry 1-0 was edited: its hash does not match its content")
    assert broken_at(kept[1:]) is not None  # the oldest ones gone without moving the start
    assert broken_at(kept[1:], start=kept[0].hash) is None


# -- against Redis, the web and the CLI ---------------------------------------------------


def cli_env(broker_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_BROKER")}
    return env | {"REMEDIATOR_BROKER_URL": broker_url}


def test_web_and_cli_actions_are_audited_and_verify_fails_at_the_entry_after_one_deleted_by_hand(
    make_app, redis_db, broker_url
) -> None:
    client = make_app(
        "rules:\n  - name: r\n    match: {culprit: x}\n    job: {script: noop, tier: nonprod, class: C}\n"
    ).test_client()
    store = JobStore(redis_client(broker_url))
    waiting = store.create(make_job(status=JobStatus.AWAITING_APPROVAL, time_limit=60))
    alice = person(redis_db, "alice", "admin")
    dana = bearer(person(redis_db, "dana", "approver"))
    # the console: a failed sign-in, then a sign-in
    form = csrf(client.get("/login").get_data(as_text=True))
    wrong = client.post("/login", data={"csrf_token": form, "token": "wrong"})
    assert wrong.status_code == 401
    answer = client.post("/login", data={"csrf_token": form, "token": alice})
    assert answer.status_code == 303
    # the API: an approval, and one refused (the job is no longer waiting)
    assert client.post(f"/api/jobs/{waiting.id}/approve", headers=dana).status_code == 200
    assert client.post(f"/api/jobs/{waiting.id}/approve", headers=dana).status_code == 409
    # the CLI
    paused = remediator_command(
        "pause", "--by", "carol", "--reason", "deploy freeze", env=cli_env(broker_url)
    )
    assert paused.returncode == 0, paused.stderr
    entries = AuditTrail(redis_db).entries()
    seen = [(e["action"], e["actor"], e["outcome"]) for e in entries]
    assert seen[0] == ("failed sign-in", "unknown", "refused: not a current token")
    assert ("sign-in", "alice", "ok") in seen
    assert ("approve", "dana", "ok") in seen and ("approve", "dana", "refused (409)") in seen
    assert seen[-1] == ("pause", "carol", "ok")
    approve = next(e for e in entries if e["action"] == "approve")
    assert (
        approve["target"] == waiting.id
        and approve["source"] == "127.0.0.1"
        and approve["role"] == "approver"
        and approve["via"] == "api"
    )
    assert entries[-1]["source"] == "cli" and entries[-1]["reason"] == "deploy freeze"
    assert TOKEN not in json.dumps(entries) and alice not in json.dumps(entries)  # no token is kept
    listed = json.loads(
        remediator_command("audit", "--actor", "dana", "--json", env=cli_env(broker_url)).stdout
    )
    assert [e["outcome"] for e in listed] == ["ok", "refused (409)"]
    # the console's audit page lists them, newest first, and says the chain is whole
    page = client.get("/audit").get_data(as_text=True)
    actors = [page.index(f'data-label="Actor">{name}') for name in ("carol", "dana", "alice")]
    assert 'data-chain="whole"' in page and actors == sorted(actors)
    # the chain verifies; a deleted entry breaks it at the entry after it
    ok = remediator_command("audit", "verify", env=cli_env(broker_url))
    assert ok.returncode == 0 and f"{len(entries)} entries" in ok.stdout
    redis_db.xdel(STREAM_KEY, entries[2]["id"])
    broken = remediator_command("audit", "verify", env=cli_env(broker_url))
    assert broken.returncode == 1
    assert f"entry {entries[3]['id']} does not follow {entries[1]['id']}" in broken.stderr
    assert 'data-chain="broken"' in client.get("/audit").get_data(as_text=True)


def test_retention_moves_the_chains_start_so_what_is_kept_still_verifies(redis_db) -> None:
    trail = AuditTrail(redis_db, retention_days=1)
    ids = [trail.record("pause", f"op{n}") for n in range(2)]
    second_ms = int(ids[1].split("-")[0])
    wait_for(lambda: time.time() * 1000 > second_ms + 2, 1, 0.001, "the clock to pass the second entry")
    ids += [trail.record("pause", f"op{n}") for n in range(2, 5)]
    # as if a day had passed since the second entry: the first two are past the retention
    assert trail.trim(now=second_ms / 1000 + 86400 + 0.0004) == 2
    assert [e["actor"] for e in trail.entries()] == ["op2", "op3", "op4"]
    assert trail.verify() == (3, None)
    redis_db.xdel(STREAM_KEY, ids[2])  # now the oldest kept one goes by hand: that shows
    _, problem = trail.verify()
    assert problem is not None and f"entry {ids[3]} does not follow the start of the trail" in problem
