"""Memory of what worked: which earlier issues count as alike, and which a new analysis is
shown (against the suite's Redis for the store)."""

from __future__ import annotations

from typing import Any

from remediator.analysis.memory import Memory, MemoryStore, Signature, closeness, normalised_title


def sig(exception_type: str = "KeyError", culprit: str = "app.config in load", title: str = "x") -> Signature:
    return Signature("shop", exception_type, culprit, normalised_title(title))


def memory(issue: str, signature: Signature, outcome: str = "verified", at: float = 1.0) -> Memory:
    return Memory(
        signature, issue, f"cause of {issue}", f"fix of {issue}", outcome, f"job-{issue}", f"a-{issue}", at=at
    )


def test_titles_differing_in_ids_numbers_and_quoted_values_are_one_title() -> None:
    assert normalised_title("KeyError: 'user_42' at row 17") == normalised_title(
        "KeyError: 'acct_7' at row 3"
    )
    assert normalised_title("Timeout after 0x1f3a ms") == "timeout after <n> ms"


def test_alike_means_the_same_project_and_the_exception_type_or_the_culprit() -> None:
    assert closeness(sig(), sig()) == 3 + 2 + 1
    assert closeness(sig(), sig(culprit="elsewhere")) == 3 + 1
    assert closeness(sig(), Signature("other", "KeyError", "app.config in load", "x")) == 0


def test_a_new_analysis_is_shown_the_closest_then_newest_each_issue_once(redis_db: Any) -> None:
    store = MemoryStore(redis_db, 3600)
    store.remember(memory("1", sig(culprit="elsewhere"), at=5.0))  # the exception type only: 4
    store.remember(memory("2", sig(), at=1.0))  # everything: 6
    store.remember(memory("3", sig(), outcome="ineffective", at=2.0))  # everything, newer: 6
    store.remember(memory("2", sig(), at=0.5))  # an older memory of issue 2: not shown twice
    store.remember(memory("4", sig(exception_type="ValueError", culprit="x.y"), at=9.0))  # only the title
    shown = store.closest(sig())
    assert [(m.issue_id, m.outcome) for m in shown] == [
        ("3", "ineffective"),
        ("2", "verified"),
        ("1", "verified"),
    ]
    assert shown[0].for_prompt()["outcome"] == "the fix did NOT hold (ineffective)"
