"""Where the relationship stands, derived from how long and how much you have talked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Stage:
    name: str
    min_user_messages: int
    min_days: float
    description: str


STAGES: tuple[Stage, ...] = (
    Stage("new", 0, 0, "They have only just met and are getting to know each other."),
    Stage(
        "acquainted",
        20,
        1,
        "They have talked a few times and are becoming comfortable with each other.",
    ),
    Stage(
        "friends",
        150,
        7,
        "They are friends who talk often and know a good deal about each other's days.",
    ),
    Stage(
        "close",
        600,
        30,
        "They are close; they trust each other and share what matters.",
    ),
)


def stage_for(user_messages: int, first_contact: datetime | None, now: datetime) -> Stage:
    """The furthest stage whose thresholds (messages and days known) are both met."""
    days = (now - first_contact).total_seconds() / 86400 if first_contact else 0.0
    reached = STAGES[0]
    for stage in STAGES:
        if user_messages >= stage.min_user_messages and days >= stage.min_days:
            reached = stage
    return reached
