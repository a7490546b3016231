"""`remediator rules suggest`: rules for the issues no rule matched, on the backtest's seeded
history in the Sentry stand-in and on saved payloads, each proven by the replay before it is
proposed; a group under the threshold, or one whose rule cannot be narrowed to it, is not."""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis
import yaml

from remediator.backtest.suggest import culprit_module, normalised_title, title_pattern
from remediator.testing import SentryStandIn
from remediator.testing.sentry_standin import iso
from tests.test_backtest import BACKTEST_RULES, DAY, PROJECT_IDS, backtest, seed

# -- pure -----------------------------------------------------------------------------


def test_a_title_loses_what_changes_between_occurrences_and_its_pattern_matches_them_all() -> None:
    a = "KeyError: 'user_4411' not found after 3 retries (req 9f2c4e1a7b3d)"
    b = "KeyError: 'order_12' not found after 12 retries (req 0a1b2c3d4e5f)"
    assert (
        normalised_title(a)
        == normalised_title(b)
        == "KeyError: <value> not found after <n> retries (req <id>)"
    )
    import re

    pattern = re.compile(title_pattern(normalised_title(a)))
    assert pattern.match(a) and pattern.match(b)
    assert not pattern.match("KeyError: 'x' not found")
    assert culprit_module("app.db.pool in acquire") == "app.db.pool"


# -- through the CLI, against the stand-in --------------------------------------------------


def add_group(
    standin: SentryStandIn, first_id: int, count: int, culprit: str, title: str, project: str
) -> None:
    start = time.time() - 5 * DAY
    for n in range(count):
        standin.add_issue(
            str(first_id + n),
            title=title.format(n=n * 7 + 3),
            culprit=culprit,
            firstSeen=iso(start + n * 600),
            lastSeen=iso(start + n * 600 + 60),
            project={"id": PROJECT_IDS[project], "slug": project, "name": project},
        )


def test_suggest_proposes_the_rules_its_groups_call_for_each_proven_and_none_under_the_threshold(
    standin: SentryStandIn, tmp_path: Path, broker_url: str
) -> None:
    seed(standin, time.time())  # 40 unmatched `ui.render failed` issues in project web
    add_group(standin, 20_000, 8, "app.orders.sync in push", "TimeoutError: order {n} sync timed out", "api")
    add_group(standin, 20_100, 3, "app.mail in send", "SMTPError: code {n}", "api")  # under 5
    # the same problem in three projects, a rule handling it in one: what the other two share
    # also selects the handled one, so no rule is proposed for them
    add_group(standin, 20_200, 6, "app.export in run", "ExportError: batch {n}", "web")
    add_group(standin, 20_300, 6, "app.export in run", "ExportError: batch {n}", "api")
    add_group(standin, 20_400, 6, "app.export in run", "ExportError: batch {n}", "shop")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        BACKTEST_RULES
        + """  - name: exports-shop
    match: {culprit: {contains: app.export}, project: {equals: shop}}
    job: {script: noop, tier: nonprod, class: C}
"""
    )
    done = backtest(["suggest", "--since", "14d", "--json"], standin, rules, broker_url)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    by_size = {s["issues"]: s for s in report["suggestions"]}
    assert sorted(by_size) == [8, 40]
    ui, orders = by_size[40], by_size[8]
    assert ui["matched"] == 40 and orders["matched"] == 8
    assert ui["rule"]["approval"] is True and ui["rule"]["dry_run"] is True
    assert ui["rule"]["job"]["script"] == "analyze-production-error"
    assert orders["rule"]["match"]["project"] == {"equals": "api"}
    assert orders["rule"]["match"]["culprit"] == {"contains": "app.orders.sync"}
    assert "TimeoutError: order <n> sync timed out" not in orders["rule"]["match"]["title"]["regex"]
    assert all("SMTPError" not in json.dumps(s) for s in report["suggestions"])  # 3 < 5
    refused = report["not_suggested"]
    assert [(r["issues"], "also matches 6 other" in r["reason"]) for r in refused] == [(12, True)]
    # the YAML, appended to the rule file, passes `rules check` and matches nothing it handled
    combined = tmp_path / "combined.yaml"
    combined.write_text(rules.read_text() + "".join(s["yaml"] for s in report["suggestions"]))
    assert yaml.safe_load(combined.read_text())["rules"][-1]["name"] == report["suggestions"][-1]["name"]
    checked = backtest(["check", str(combined)], standin, combined, broker_url)
    assert checked.returncode == 0, checked.stderr + checked.stdout
    after = backtest(["backtest", "--since", "14d", "--json"], standin, combined, broker_url)
    summary = json.loads(after.stdout)
    assert summary["rules"][ui["name"]]["matches"] == 40 and summary["rules"][ui["name"]]["dry_run"] == 40
    assert summary["rules"]["db-pool"]["matches"] == 120  # the existing rules decide as before
    kept = json.loads(redis.Redis.from_url(broker_url).get("remediator:suggestions") or "{}")
    assert [k["name"] for k in kept["suggestions"]] == [x["name"] for x in report["suggestions"]]
    assert kept["window"] == "14d"  # the console's rules page lists them
    text = backtest(["suggest", "--since", "14d"], standin, rules, broker_url)
    assert "# Suggested by `remediator rules suggest` over 14d: 40 issues no rule matched." in text.stdout
    assert "- name: suggested-" in text.stdout and "not suggested (12 issues" in text.stdout


def test_suggest_reads_saved_payloads_and_says_when_there_is_nothing_to_suggest(
    standin: SentryStandIn, tmp_path: Path, broker_url: str
) -> None:
    add_group(
        standin, 30_000, 5, "app.cart in total", "ZeroDivisionError: division by zero at line {n}", "shop"
    )
    saved = tmp_path / "payloads"
    saved.mkdir()
    for issue_id in standin.issues:
        (saved / f"{issue_id}.json").write_text(json.dumps(standin.issue_webhook(issue_id)))
    rules = tmp_path / "rules.yaml"
    rules.write_text(BACKTEST_RULES)
    found = backtest(["suggest", "--payloads", str(saved), "--json"], standin, rules, broker_url)
    assert found.returncode == 0, found.stderr
    [only] = json.loads(found.stdout)["suggestions"]
    assert only["issues"] == 5 and only["rule"]["match"]["project"] == {"equals": "shop"}
    none = backtest(["suggest", "--payloads", str(saved), "--min-issues", "6"], standin, rules, broker_url)
    assert "No group of 6 or more unmatched issues in the window" in none.stdout


def test_a_fix_that_held_for_three_analysed_issues_of_one_root_cause_becomes_a_suggested_rule(
    standin: SentryStandIn, tmp_path: Path, broker_url: str, redis_db
) -> None:
    from remediator.analysis.memory import Memory, MemoryStore, Signature
    from remediator.jobs import JobStatus, JobStore
    from remediator.testing.factories import make_job

    store = JobStore(redis_db)
    fix = store.create(
        make_job(
            rule="manual-fix",
            script="restart-db-pool",
            tier="prod",
            status=JobStatus.VERIFIED,
            params={
                "drain_url": "http://db-admin.internal/pool/drain",
                "restart_url": "http://db-admin.internal/pool/restart",
                "health_url": "http://db-admin.internal/healthz",
                "headers": {"Authorization": "Bearer s3cret-pool-token"},
            },
        )
    )
    memories = MemoryStore(redis_db, 86400)
    signature = Signature(
        "shop", "OperationalError", "app.db.pool in acquire", "operationalerror: pool exhausted"
    )
    for n, outcome in enumerate(["ineffective", "verified", "verified"]):
        cause = f"The pool holds {10 + n} connections and leaks one per timed-out request."
        memories.remember(
            Memory(
                signature,
                f"55{n}",
                cause,
                "restart the pool",
                outcome,
                fix.id,
                f"analysis-{n}",
                at=time.time(),
            )
        )
    two_only = Signature("shop", "KeyError", "app.cart", "keyerror: <v>")
    for n in range(2):  # two issues are not enough
        memories.remember(
            Memory(
                two_only, f"66{n}", "A missing key.", "guard it", "verified", fix.id, f"a-{n}", at=time.time()
            )
        )
    empty = tmp_path / "no-history"
    empty.mkdir()
    rules = tmp_path / "rules.yaml"
    rules.write_text(BACKTEST_RULES)
    done = backtest(["suggest", "--payloads", str(empty), "--json"], standin, rules, broker_url)
    assert done.returncode == 0, done.stderr
    [learned] = json.loads(done.stdout)["suggestions"]
    assert learned["kind"] == "analyses" and learned["issues"] == 3
    rule = learned["rule"]
    assert (
        rule["approval"] is True
        and rule["job"]["script"] == "restart-db-pool"
        and rule["job"]["tier"] == "prod"
    )
    assert rule["match"] == {
        "culprit": {"contains": "app.db.pool in acquire"},
        "project": {"equals": "shop"},
        "exception_type": {"equals": "OperationalError"},
    }
    assert "s3cret-pool-token" not in done.stdout and "headers" not in rule["job"]["params"]
    assert "Its secret params are left out: add headers yourself." in learned["yaml"]
    combined = tmp_path / "combined.yaml"
    combined.write_text(rules.read_text() + learned["yaml"])
    checked = backtest(["check", str(combined)], standin, combined, broker_url)
    assert checked.returncode == 0, checked.stderr + checked.stdout
