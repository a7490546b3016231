"""Eval cases from real public bug reports, each with the report and (where the thread
names it) the fixing change linked: `python -m evals.real_reports` writes them into
evals/production-errors/ as the eval reads them.

The events are built the way the SDKs send them and rendered the way Sentry's REST API does
(remediator.testing: sentry_events, sentry_shapes), from what each report shows: the file,
function and line of the failure, the error's type and message, the repeated query of an N+1.
No source lines are invented: where a report does not quote the code, the frame has none, and
where it gives no line number the frame's is 0 (the mypy case: its functions are read from the
file, mypy/report.py's AnyExpressionsReporter). Where a performance report names the table but
not the SQL, the repeated or slow query is written as the ORM renders a lookup on it (the model's
table and columns, read from the project's source). Where the fix was only proposed (an open
pull request, a fix given in the report), the source says so."""

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


def slow_query(transaction: str, query: str, ms: float, url: str) -> dict[str, Any]:
    """A transaction with one slow SELECT and the Slow DB Query occurrence Sentry makes of it."""
    return sdk.slow_db_query_event(transaction, query, ms, url=url)


def java(exc_type: str, value: str, frames: list[tuple[str, str, str, int]]) -> dict[str, Any]:
    """A Java exception as sentry-java reports it: frames (class, method, file, line), the
    outermost first (Sentry's order), the class as the frame's module."""
    return sdk.error_event(
        exc_type,
        value,
        [sdk.frame(path, method, line, module=cls) for cls, method, path, line in frames],
        platform="java",
        mechanism="UncaughtExceptionHandler",
    )


def js(
    exc_type: str, value: str, frames: list[tuple[str, str, int]], mechanism: str = "onerror"
) -> dict[str, Any]:
    """A JavaScript error as the browser or Node SDK reports it (frames outermost first)."""
    return sdk.error_event(
        exc_type,
        value,
        [sdk.frame(path, function, line) for path, function, line in frames],
        platform="javascript",
        mechanism=mechanism,
    )


def go_nil(frames: list[tuple[str, str, int, str]]) -> dict[str, Any]:
    """A nil-pointer panic as sentry-go reports it (frames outermost first)."""
    return sdk.error_event(
        "runtime.errorString",
        "runtime error: invalid memory address or nil pointer dereference",
        [sdk.frame(path, function, line, module=package) for path, function, line, package in frames],
        platform="go",
        mechanism="panic",
    )


def python(exc_type: str, value: str, frames: list[tuple[str, str, int]]) -> dict[str, Any]:
    """A Python exception (frames outermost first, the module from the path)."""
    return sdk.error_event(
        exc_type,
        value,
        [
            sdk.frame(path, function, line, module=path.removesuffix(".py").replace("/", "."))
            for path, function, line in frames
        ],
    )


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
    {
        "name": "python-sentry-latest-event-of-an-eventless-group",
        "language": "python",
        "source": "https://github.com/getsentry/sentry/issues/1727 (the latest-event endpoint read "
        "event.id when the group had no event; the endpoint now answers 404 'No events found for "
        "group' when get_latest_event returns None)",
        "event": python(
            "AttributeError",
            "'NoneType' object has no attribute 'id'",
            [
                ("sentry/api/base.py", "dispatch", 137),
                ("sentry/api/endpoints/group_events_latest.py", "get", 25),
            ],
        ),
        "expect": {
            "cause_mentions": ["no event", "None", "latest event", "404"],
            "file": "sentry/api/endpoints/group_events_latest.py",
            "cause": "the group has no event, so get_latest_event() returns None and event.id fails; "
            "the endpoint must answer 404 when there is none",
        },
    },
    {
        "name": "python-sentry-issue-stats-n-plus-one-project",
        "language": "python",
        "source": "https://github.com/getsentry/sentry/pull/41202 (the /issues-stats/ endpoint "
        "read each Group's project in a loop; fixed by fetching the projects with the groups)",
        "event": n_plus_one(
            "GET /api/0/organizations/{organization_slug}/issues-stats/",
            'SELECT "sentry_project"."id", "sentry_project"."slug", "sentry_project"."name" '
            'FROM "sentry_project" WHERE "sentry_project"."id" = %s LIMIT 21',
            25,
            "https://sentry.example.com/api/0/organizations/acme/issues-stats/",
        ),
        "expect": {
            "cause_mentions": ["select_related", "prefetch_related", "project", "N+1"],
            "file": "src/sentry/api/endpoints/organization_group_index_stats.py",
            "cause": "the groups are listed with Group.objects.filter(...) and each group's project is "
            "then loaded one query at a time; select_related('project') (or prefetch) loads them at once",
        },
    },
    {
        "name": "python-djangoproject-doc-versions-n-plus-one",
        "language": "python",
        "source": "https://github.com/django/djangoproject.com/pull/1260 (closes #1252: the docs "
        "version switcher fetched each DocumentRelease's release through its version property; "
        "fixed with select_related)",
        "event": n_plus_one(
            "/en/{version}/{url}",
            'SELECT "releases_release"."version", "releases_release"."date", '
            '"releases_release"."eol_date" FROM "releases_release" '
            'WHERE "releases_release"."version" = %s LIMIT 21',
            30,
            "https://docs.djangoproject.com/en/4.1/topics/db/queries/",
        ),
        "expect": {
            "cause_mentions": ["select_related", "release", "version", "N+1"],
            "file": "docs/templatetags/docs.py",
            "cause": "get_all_doc_versions loops over DocumentRelease objects and reads release.version, "
            "which loads each related Release with its own query; select_related('release') joins them",
        },
    },
    {
        "name": "go-cntb-edit-role-index-out-of-range",
        "language": "go",
        "source": "https://github.com/contabo/cntb/pull/3 (cntb edit role with one argument: "
        "args[1] read without checking; the fix checks for two arguments first)",
        "event": sdk.error_event(
            "runtime.boundsError",
            "runtime error: index out of range [1] with length 1",
            [sdk.frame("cmd/roles/edit.go", "glob..func6", 85, module="contabo.com/cli/cntb/cmd/roles")],
            platform="go",
            mechanism="panic",
        ),
        "expect": {
            "cause_mentions": ["args", "argument", "len", "index"],
            "file": "cmd/roles/edit.go",
            "cause": "the command reads args[1] (the role id) without checking that two arguments were "
            "given; with one it panics",
        },
    },
    {
        "name": "python-sentry-sentry-app-serializer-n-plus-one",
        "language": "python",
        "source": "https://github.com/getsentry/sentry/pull/106305 (N+1 on sentry_apiapplication and "
        "sentry_organizationmapping in /organizations/{org}/sentry-apps/: queries moved from "
        "serialize() to get_attrs())",
        "event": n_plus_one(
            "GET /api/0/organizations/{organization_id_or_slug}/sentry-apps/",
            'SELECT "sentry_apiapplication"."id", "sentry_apiapplication"."client_id" '
            'FROM "sentry_apiapplication" WHERE "sentry_apiapplication"."id" = %s LIMIT 21',
            40,
            "https://sentry.example.com/api/0/organizations/acme/sentry-apps/",
        ),
        "expect": {
            "cause_mentions": ["get_attrs", "serialize", "application", "N+1", "prefetch"],
            "file": "src/sentry/sentry_apps/api/serializers/sentry_app.py",
            "cause": "SentryAppSerializer.serialize() queries each app's ApiApplication (and "
            "organization mapping) per app; get_attrs() should fetch them for the whole list",
        },
    },
    {
        "name": "python-sentry-on-demand-filter-ignores-prefetch",
        "language": "python",
        "source": "https://github.com/getsentry/sentry/pull/64902 (.filter() on a prefetched "
        "ondemand_set queried again for every widget query; fixed by filtering in memory)",
        "event": n_plus_one(
            "sentry.tasks.relay.build_project_config",
            'SELECT "sentry_dashboardwidgetqueryondemand"."id", '
            '"sentry_dashboardwidgetqueryondemand"."spec_version" '
            'FROM "sentry_dashboardwidgetqueryondemand" '
            'WHERE "sentry_dashboardwidgetqueryondemand"."dashboard_widget_query_id" = %s',
            120,
            "https://sentry.example.com/",
        ),
        "expect": {
            "cause_mentions": ["prefetch", "filter", "in memory", "ondemand"],
            "file": "src/sentry/relay/config/metric_extraction.py",
            "cause": "calling .filter() on the prefetched dashboardwidgetqueryondemand_set ignores the "
            "prefetch and runs one query per widget query; filter the prefetched rows in Python",
        },
    },
    {
        "name": "js-console-trace-stack-undefined",
        "language": "javascript",
        "source": "https://github.com/LearnBoost/console-trace/pull/17 (callsite's new API no longer "
        "defines the global __stack that console-trace.js:43 reads; the PR moves to the new API)",
        "event": js(
            "ReferenceError",
            "__stack is not defined",
            [
                ("lib/errors.js", "process.errors.busyHandler", 16),
                ("console-trace.js", "Console.console.(anonymous function)", 43),
            ],
        ),
        "expect": {
            "cause_mentions": ["__stack", "callsite", "global", "API"],
            "file": "console-trace.js",
            "cause": "console-trace relies on the global __stack that older versions of callsite "
            "defined; the current callsite exports a function instead, so __stack is undefined",
        },
    },
    {
        "name": "js-redux-segment-action-without-meta",
        "language": "javascript",
        "source": "https://github.com/rangle/redux-segment/pull/46 (solves #45: the middleware read "
        "action.meta.analytics for every action; the fix forwards actions without meta)",
        "event": js(
            "TypeError",
            "Cannot read property 'analytics' of undefined",
            [("src/index.js", "createTracker", 0)],
        ),
        "expect": {
            "cause_mentions": ["meta", "analytics", "action"],
            "file": "src/index.js",
            "cause": "the tracker middleware reads action.meta.analytics without checking that the "
            "action has a meta; actions without one must be passed on to next()",
        },
    },
    {
        "name": "go-grmon-readroutines-leading-lines",
        "language": "go",
        "source": "https://github.com/bcicen/grmon/issues/8 (fixed in commit 6c3770b: lines before "
        "the first goroutine block are now ignored)",
        "event": go_nil(
            [
                ("main.go", "main.main", 202, "main"),
                ("client.go", "main.poll", 38, "main"),
                ("parse.go", "main.ReadRoutines", 76, "main"),
            ]
        ),
        "expect": {
            "cause_mentions": ["goroutine", "leading", "before", "header", "nil"],
            "file": "parse.go",
            "cause": "ReadRoutines assumes the dump starts with a goroutine block; lines before the "
            "first one are appended to a routine that does not exist yet (nil)",
        },
    },
    {
        "name": "go-zkc-write-on-nil-key-exchange",
        "language": "go",
        "source": "https://github.com/companyzero/zkc/issues/83 (fixed in #100: writeMessage called "
        "Write on a nil *SigmaKX)",
        "event": go_nil(
            [
                ("zkclient/msg.go", "main.(*ZKC).scheduler.func4", 173, "main"),
                ("zkclient/zkclient.go", "main.(*ZKC).writeMessage", 1404, "main"),
                ("sigma/sigma.go", "sigma.(*SigmaKX).Write", 315, "github.com/companyzero/zkc/sigma"),
            ]
        ),
        "expect": {
            "cause_mentions": ["nil", "connection", "kx", "SigmaKX"],
            "file": "zkclient/zkclient.go",
            "cause": "writeMessage writes to the server's key exchange after the connection is gone: "
            "its *SigmaKX is nil",
        },
    },
    {
        "name": "go-crlfmt-func-without-body",
        "language": "go",
        "source": "https://github.com/cockroachdb/crlfmt/issues/8 (a file declaring `func lol()` "
        "without a body; fixed in 5d85b323a)",
        "event": go_nil(
            [
                ("main.go", "main.main", 87, "main"),
                ("main.go", "main.main.func1", 81, "main"),
                ("main.go", "main.checkPath", 129, "main"),
            ]
        ),
        "expect": {
            "cause_mentions": ["body", "Body", "declaration", "nil"],
            "file": "main.go",
            "cause": "checkPath reads each FuncDecl's Body, which is nil for a function declared "
            "without one (`func lol()`)",
        },
    },
    {
        "name": "go-sampctl-deref-of-runner-error",
        "language": "go",
        "source": "https://github.com/Southclaws/sampctl/issues/108 (fixed in 1.6.3: an attempted "
        "deref on the error pointer returned from the command runner)",
        "event": go_nil(
            [
                ("runtime/run.go", "runtime.run", 141, "github.com/Southclaws/sampctl/runtime"),
                ("runtime/run.go", "runtime.run.func5", 155, "github.com/Southclaws/sampctl/runtime"),
            ]
        ),
        "expect": {
            "cause_mentions": ["error", "nil", "runner", "deref"],
            "file": "runtime/run.go",
            "cause": "the goroutine dereferences the error the command runner returned without "
            "checking it is non-nil",
        },
    },
    {
        "name": "ts-tahoma-execution-state-undefined",
        "language": "typescript",
        "source": "https://github.com/nikkow/node-red-contrib-tahoma/issues/31 (an unhandled "
        "rejection reading .finished of an undefined execution state; the maintainer added error "
        "handling and tied it to token management, #27)",
        "event": js(
            "TypeError",
            "Cannot read property 'finished' of undefined",
            [("dist/nodes/tahoma.js", "<anonymous>", 105)],
            mechanism="onunhandledrejection",
        ),
        "expect": {
            "cause_mentions": ["undefined", "token", "error", "catch", "response"],
            "file": "dist/nodes/tahoma.js",
            "cause": "the command's answer has no execution state when the API call fails (an expired "
            "token), and the code reads .finished on it without catching the failure",
        },
    },
    {
        "name": "go-cexporter-concurrent-map-writes",
        "language": "go",
        "source": "https://github.com/CheerlessCloud/cexporter/issues/2 (the label map written by "
        "goroutines without its RWMutex; fixed by #3 in 1.1.0)",
        "event": sdk.error_event(
            "fatal error",
            "concurrent map writes",
            [
                sdk.frame(
                    "collector/unactual_labels_garbage_collector.go",
                    "collector.(*unactualLabelsGarbageCollector).Touch",
                    36,
                    module="github.com/CheerlessCloud/cexporter/collector",
                )
            ],
            platform="go",
            mechanism="panic",
        ),
        "expect": {
            "cause_mentions": ["mutex", "concurrent", "lock", "map"],
            "file": "collector/unactual_labels_garbage_collector.go",
            "cause": "the garbage collector's map is written from several goroutines without a lock; "
            "wrap it in a sync.RWMutex",
        },
    },
    {
        "name": "java-petclinic-jdbc-visits-per-pet",
        "language": "java",
        "source": "https://github.com/spring-projects/spring-petclinic/issues/64 (JdbcOwnerRepositoryImpl "
        "called visitRepository.findByPetId once per pet)",
        "event": n_plus_one(
            "GET /owners/{ownerId}",
            "SELECT id as visit_id, visit_date, description FROM visits WHERE pet_id=?",
            12,
            "https://petclinic.example.com/owners/3",
        ),
        "expect": {
            "cause_mentions": ["findByPetId", "per pet", "each pet", "N+1", "batch"],
            "file": "src/main/java/org/springframework/samples/petclinic/repository/jdbc/"
            "JdbcOwnerRepositoryImpl.java",
            "cause": "loading an owner's pets calls visitRepository.findByPetId for each pet; the "
            "visits of all pets should be fetched in one query",
        },
    },
    {
        "name": "java-petclinic-eager-pets-and-visits",
        "language": "java",
        "source": "https://github.com/spring-projects/spring-petclinic/issues/2157 (Owner's EAGER "
        "relationships load each result's pets and visits one query at a time in the owner "
        "search; fixes proposed in #2204 and #2250)",
        "event": n_plus_one(
            "GET /owners",
            "SELECT p1_0.owner_id, p1_0.id, p1_0.birth_date, p1_0.name, t1_0.id, t1_0.name FROM pets p1_0 "
            "LEFT JOIN types t1_0 ON t1_0.id = p1_0.type_id WHERE p1_0.owner_id = ? ORDER BY p1_0.name",
            5,
            "https://petclinic.example.com/owners?lastName=",
        ),
        "expect": {
            "cause_mentions": ["EAGER", "LAZY", "EntityGraph", "fetch", "N+1"],
            "file": "src/main/java/org/springframework/samples/petclinic/owner/Owner.java",
            "cause": "Owner.pets (and Pet.visits) are fetched EAGER, so every owner in the search "
            "result loads its pets and visits with queries of its own; make them LAZY and fetch what "
            "the page needs with an entity graph or a projection",
        },
    },
    {
        "name": "python-iceaxe-getattr-recursion",
        "language": "python",
        "source": "https://github.com/piercefreeman/iceaxe/pull/79 (__getattr__ read "
        "self.model_fields, whose super() lookup went through __getattr__ again)",
        "event": python(
            "RecursionError",
            "maximum recursion depth exceeded while calling a Python object",
            [("iceaxe/base.py", "__getattr__", 107), ("iceaxe/base.py", "model_fields", 155)],
        ),
        "expect": {
            "cause_mentions": ["__getattr__", "recursion", "model_fields", "super"],
            "file": "iceaxe/base.py",
            "cause": "__getattr__ reads self.model_fields, and model_fields' super() lookup falls back "
            "to __getattr__ again: infinite recursion; read the attribute explicitly",
        },
    },
    {
        "name": "python-infinicore-getattr-unsupported-attribute",
        "language": "python",
        "source": "https://github.com/InfiniTensor/InfiniCore/issues/850 (Tensor.__getattr__ "
        "answered an unsupported name with getattr(self, name), recursing until the stack ran out)",
        "event": python(
            "RecursionError",
            "maximum recursion depth exceeded",
            [("test.py", "<module>", 11), ("infinicore/tensor.py", "__getattr__", 45)],
        ),
        "expect": {
            "cause_mentions": ["__getattr__", "getattr(self", "recursion", "AttributeError"],
            "file": "infinicore/tensor.py",
            "cause": "for a name it does not construct lazily, __getattr__ returns getattr(self, name), "
            "which calls __getattr__ again; it should raise AttributeError",
        },
    },
    {
        "name": "python-diffusion-pipe-getattr-during-unpickling",
        "language": "python",
        "source": "https://github.com/tdrussell/diffusion-pipe/issues/434 (unpickling in a Windows "
        "spawn worker calls __getattr__ before diffusers_pipeline is set; a fix is proposed in the "
        "report)",
        "event": python(
            "RecursionError",
            "maximum recursion depth exceeded",
            [("multiprocess/spawn.py", "_main", 132), ("models/sdxl.py", "__getattr__", 412)],
        ),
        "expect": {
            "cause_mentions": ["__getattr__", "unpickl", "diffusers_pipeline", "recursion"],
            "file": "models/sdxl.py",
            "cause": "__getattr__ forwards to self.diffusers_pipeline, which does not exist yet while "
            "the object is unpickled, so the lookup calls __getattr__ again",
        },
    },
    {
        "name": "python-sentry-check-auth-seq-scan",
        "language": "python",
        "source": "https://github.com/getsentry/sentry/pull/85647 (the check_auth task's query on "
        "AuthIdentity.last_synced ran sequential scans; fixed with an index on last_synced)",
        "event": slow_query(
            "sentry.tasks.check_auth",
            'SELECT "sentry_authidentity"."id", "sentry_authidentity"."user_id" FROM '
            '"sentry_authidentity" WHERE "sentry_authidentity"."last_synced" <= %s LIMIT 1000',
            2400,
            "https://sentry.example.com/",
        ),
        "expect": {
            "cause_mentions": ["index", "last_synced", "sequential scan", "seq scan"],
            "file": "src/sentry/models/authidentity.py",
            "cause": "the task filters AuthIdentity by last_synced, which has no index, so each run "
            "scans the whole table; add an index on last_synced",
        },
    },
    {
        "name": "python-sentry-monitor-checkin-seq-scan",
        "language": "python",
        "source": "https://github.com/getsentry/sentry/pull/31843 (check_monitors' queries on "
        "MonitorCheckin ran sequential scans; fixed with indexes, migration 0272)",
        "event": slow_query(
            "sentry.tasks.check_monitors",
            'SELECT "sentry_monitorcheckin"."id", "sentry_monitorcheckin"."status" FROM '
            '"sentry_monitorcheckin" WHERE ("sentry_monitorcheckin"."status" = %s AND '
            '"sentry_monitorcheckin"."date_added" <= %s)',
            3100,
            "https://sentry.example.com/",
        ),
        "expect": {
            "cause_mentions": ["index", "sequential scan", "seq scan", "status"],
            "file": "src/sentry/tasks/check_monitors.py",
            "cause": "check_monitors filters MonitorCheckin by status and date_added, which no index "
            "covers, so Postgres scans the table every minute; add the index",
        },
    },
    {
        "name": "python-solcore-getattr-self-lookup",
        "language": "python",
        "source": "https://github.com/qpv-research-group/solcore5/issues/156 (__getattr__ for 'n' "
        "and 'k' evaluated self.n / self.k, which call __getattr__ again; the report gives the fix)",
        "event": python(
            "RecursionError",
            "maximum recursion depth exceeded",
            [("solcore/material_system/material_system.py", "__getattr__", 0)],
        ),
        "expect": {
            "cause_mentions": ["__getattr__", "self.n", "recursion", "interpolated"],
            "file": "solcore/material_system/material_system.py",
            "cause": "__getattr__ handles 'n' by evaluating self.n, which is not set and so calls "
            "__getattr__ again until recursion fails; return the interpolated value directly",
        },
    },
    {
        "name": "js-instabug-xhr-null-response-body",
        "language": "javascript",
        "source": "https://github.com/Instabug/Instabug-React-Native/pull/735 (an XMLHttpRequest "
        "error left cloneNetwork.responseBody null and its length was read; the fix checks it)",
        "event": js(
            "TypeError",
            "Cannot read property 'length' of null",
            [("utils/XhrNetworkInterceptor.js", "XMLHttpRequest.<anonymous>", 0)],
        ),
        "expect": {
            "cause_mentions": ["responseBody", "null", "error", "length"],
            "file": "utils/XhrNetworkInterceptor.js",
            "cause": "when the request errors, cloneNetwork.responseBody is null and the interceptor "
            "reads its length; check it first",
        },
    },
    {
        "name": "js-gdevelop-example-store-unexpected-response",
        "language": "javascript",
        "source": "https://github.com/4ian/GDevelop/pull/5170 (for #5165: the example store read "
        "exampleShortHeaders.length when the service answered something unexpected)",
        "event": js(
            "TypeError",
            "Cannot read properties of null (reading 'length')",
            [
                (
                    "newIDE/app/src/AssetStore/ExampleStore/ExampleStoreContext.js",
                    "ExampleStoreStateProvider",
                    94,
                )
            ],
        ),
        "expect": {
            "cause_mentions": ["exampleShortHeaders", "null", "unexpected", "response"],
            "file": "newIDE/app/src/AssetStore/ExampleStore/ExampleStoreContext.js",
            "cause": "the provider logs exampleShortHeaders.length without checking that the service "
            "returned a list; an unexpected answer leaves it null",
        },
    },
    {
        "name": "java-uyuni-optional-get-without-value",
        "language": "java",
        "source": "https://github.com/uyuni-project/uyuni/pull/2814 (SaltServerActionService.execute "
        "called Optional.get() on an empty Optional while executing an action)",
        "event": java(
            "java.util.NoSuchElementException",
            "No value present",
            [
                (
                    "com.redhat.rhn.taskomatic.task.MinionActionExecutor",
                    "execute",
                    "MinionActionExecutor.java",
                    125,
                ),
                (
                    "com.suse.manager.webui.services.SaltServerActionService",
                    "execute",
                    "SaltServerActionService.java",
                    489,
                ),
                (
                    "com.suse.manager.webui.services.SaltServerActionService",
                    "executeForRegularMinions",
                    "SaltServerActionService.java",
                    528,
                ),
                (
                    "com.suse.manager.webui.services.SaltServerActionService",
                    "execute",
                    "SaltServerActionService.java",
                    2145,
                ),
            ],
        ),
        "expect": {
            "cause_mentions": ["Optional", "get()", "empty", "isPresent"],
            "file": "java/code/src/com/suse/manager/webui/services/SaltServerActionService.java",
            "cause": "execute() calls Optional.get() on a value that can be absent for this action; "
            "check for presence (or map/orElse) first",
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
