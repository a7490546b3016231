"""Eval cases from real public bug reports, each with the report and (where the thread
names it) the fixing change linked: `python -m evals.real_reports` writes them into
evals/production-errors/ as the eval reads them.

The events are built the way the SDKs send them and rendered the way Sentry's REST API does
(remediator.testing: sentry_events, sentry_shapes), from what each report shows: the file,
function and line of the failure, the error's type and message, the repeated query of an N+1.
No source lines are invented: where a report does not quote the code, the frame has none, and
where it gives no line number the frame's is 0 (the mypy case: its functions are read from the
file, mypy/report.py's AnyExpressionsReporter)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from remediator.testing import sentry_events as sdk
from remediator.testing.sentry_shapes import new_issue, rest_event

FOLDER = Path(__file__).parent / "production-errors"
PROJECT = {"id": "1", "slug": "shop", "name": "shop"}


def go_panic(path: str, function: str, line: int, package: str) -> dict[str, Any]:
    """A Go panic as sentry-go reports it (a recovered `runtime.Error`)."""
    return sdk.error_event(
        "runtime.errorString",  # the runtime's own type for this panic's value
        "runtime error: invalid memory address or nil pointer dereference",
        [sdk.frame(path, function, line, module=package)],
        platform="go",
        mechanism="panic",
    )


def n_plus_one(transaction: str, query: str, times: int, url: str) -> dict[str, Any]:
    """A transaction whose spans run one query `times` times, with Sentry's N+1 occurrence."""
    return sdk.n_plus_one_event(transaction, query, [query] * times, url=url)


CASES: list[dict[str, Any]] = [
    {
        "name": "go-scope-checkpoint-nil-callback",
        "language": "go",
        "source": "https://github.com/weaveworks/scope/issues/1117 (the checkpoint callback is "
        "called with a nil result and an error, which the code ignores)",
        "event": go_panic("prog/app.go", "appMain.func1", 56, "main"),
        "expect": {
            "cause_mentions": ["nil", "error", "checkpoint"],
            "file": "prog/app.go",
            "cause": "the checkpoint callback dereferences its first argument without checking the "
            "error it was called with; on failure the first argument is nil",
        },
    },
    {
        "name": "go-checkmail-defer-before-error-check",
        "language": "go",
        "source": "https://github.com/badoux/checkmail/issues/18 (defer on the SMTP client before "
        "the dial error is checked)",
        "event": go_panic("checkmail.go", "ValidateHost", 55, "github.com/badoux/checkmail"),
        "expect": {
            "cause_mentions": ["defer", "before", "err"],
            "file": "checkmail.go",
            "cause": "ValidateHost defers closing the SMTP client before checking the dial error; "
            "when the dial fails the client is nil",
        },
    },
    {
        "name": "python-kitsune-n-plus-one-what-links-here",
        "language": "python",
        "source": "https://github.com/mozilla/kitsune/pull/5563 (N+1 in what_links_here: each "
        "link's linked_from fetched one by one; fixed with select_related)",
        "event": n_plus_one(
            "/kb/{document_slug}/links",
            'SELECT "wiki_document"."id", "wiki_document"."title" FROM "wiki_document" '
            'WHERE "wiki_document"."id" = %s LIMIT 21',
            12,
            "https://support.example.com/kb/firefox/links",
        ),
        "expect": {
            "cause_mentions": ["select_related", "prefetch", "linked_from", "N+1", "each link"],
            "file": "kitsune/wiki/views.py",
            "cause": "what_links_here iterates doc.links_to() and reads each link's linked_from, one "
            "query per link; select_related('linked_from') fetches them in the same query",
        },
    },
    {
        "name": "python-tanf-n-plus-one-data-files",
        "language": "python",
        "source": "https://github.com/raft-tech/TANF-app/pull/5768 (DataFileViewSet's queryset "
        "fetched stt and user per file; fixed with select_related)",
        "event": n_plus_one(
            "/v1/data_files/",
            'SELECT "stts_stt"."id", "stts_stt"."name" FROM "stts_stt" WHERE "stts_stt"."id" = %s',
            20,
            "https://tdp.example.gov/v1/data_files/",
        ),
        "expect": {
            "cause_mentions": ["select_related", "stt", "N+1", "queryset"],
            "file": "tdrs-backend/tdpservice/data_files/views.py",
            "cause": "DataFileViewSet's queryset is DataFile.objects.all(): each file's stt and user "
            "are fetched one query each; select_related('stt', 'user') joins them",
        },
    },
    {
        "name": "python-mypy-any-expressions-zero-division",
        "language": "python",
        "source": "https://github.com/python/mypy/pull/3528 (ZeroDivisionError in the "
        "AnyExpressionsReport for a module with no expressions; fixes #3522)",
        "event": sdk.error_event(
            "ZeroDivisionError",
            "division by zero",
            [
                sdk.frame("mypy/report.py", "on_finish", 0, module="mypy.report"),
                sdk.frame("mypy/report.py", "_report_any_exprs", 0, module="mypy.report"),
            ],
            environment="production",
        ),
        "expect": {
            "cause_mentions": ["zero", "no expressions", "empty", "total"],
            "file": "mypy/report.py",
            "cause": "the Any-expressions report divides by the number of expressions, which is "
            "zero for a module without any",
        },
    },
]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def build(first_number: int = 13) -> list[Path]:
    """Write every case (numbered from first_number); returns the files written."""
    written = []
    for offset, case in enumerate(CASES):
        issue_id = str(2000 + offset)
        event = case["event"]
        issue = new_issue(issue_id, event, PROJECT, "https://sentry.example.com", "acme")
        document = {
            "name": case["name"],
            "language": case["language"],
            "source": case["source"],
            "issue": {k: v for k, v in issue.items() if not k.startswith("_")},
            "event": rest_event(event, issue_id, PROJECT["id"]),
            "expect": case["expect"],
        }
        path = FOLDER / f"{first_number + offset:02d}-{_slug(case['name'])}.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in build():
        print(path)
