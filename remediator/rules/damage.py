"""A class computed from an issue's damage: `class: {A: {users_over: 1000}, B: {...},
default: C}` in a rule's job. Pure: the figures come from the subject."""

from __future__ import annotations

from pydantic import Field, model_validator

from remediator.defaults import PriorityClass
from remediator.rules.fields import _Strict


class Damage(_Strict):
    """When a computed class applies: the issue hurt more than this many users, or has more
    than this many events (either, when both are given)."""

    users_over: int | None = Field(default=None, ge=0)
    events_over: int | None = Field(default=None, ge=0)
    events_per_hour_over: int | None = Field(default=None, ge=0)
    """The issue's events in the current hour (Sentry's issue stats, looked up)."""

    @model_validator(mode="after")
    def _something(self) -> Damage:
        if self.users_over is None and self.events_over is None and self.events_per_hour_over is None:
            raise ValueError("give users_over, events_over or events_per_hour_over")
        return self

    def why(self, users: int | None, events: int | None, rate: int | None = None) -> str | None:
        """Why it holds for these figures, or None when it does not (unknown never holds)."""
        if self.users_over is not None and users is not None and users > self.users_over:
            return f"{users} users affected (over {self.users_over})"
        if self.events_over is not None and events is not None and events > self.events_over:
            return f"{events} events (over {self.events_over})"
        limit = self.events_per_hour_over
        if limit is not None and rate is not None and rate > limit:
            return f"{rate} events this hour (over {limit})"
        return None


class ClassByDamage(_Strict):
    """`class: {A: {users_over: 1000}, B: {users_over: 100}, default: C}`: the most urgent
    class whose condition holds for the issue, else `default`."""

    A: Damage | None = None
    B: Damage | None = None
    C: Damage | None = None
    D: Damage | None = None
    default: PriorityClass

    def describe(self) -> str:
        """One line: `A if users > 1000; B if events > 50; else C`."""
        parts = []
        for cls in PriorityClass:
            condition = getattr(self, cls.value)
            if condition is not None:
                tests = [
                    f"{what} > {n}"
                    for what, n in (
                        ("users", condition.users_over),
                        ("events", condition.events_over),
                        ("events this hour", condition.events_per_hour_over),
                    )
                    if n is not None
                ]
                parts.append(f"{cls.value} if {' or '.join(tests)}")
        return "; ".join([*parts, f"else {self.default.value}"])

    @property
    def wants_rate(self) -> bool:
        """Whether a condition reads the events of the current hour."""
        return any(
            (c := getattr(self, cls.value)) is not None and c.events_per_hour_over is not None
            for cls in PriorityClass
        )

    def choose(
        self, users: int | None, events: int | None, rate: int | None = None
    ) -> tuple[PriorityClass, str]:
        """The class and why."""
        for cls in PriorityClass:
            condition = getattr(self, cls.value)
            if condition is not None and (reason := condition.why(users, events, rate)):
                return cls, f"class {cls.value}: {reason}"
        known = ", ".join(
            f"{n} {what}"
            for n, what in ((users, "users"), (events, "events"), (rate, "events this hour"))
            if n is not None
        )
        return self.default, f"class {self.default.value} (default): " + (
            f"{known}, under every threshold" if known else "the issue's users and events are not known"
        )
