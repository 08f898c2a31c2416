"""The action log: every skill call, what asked for it, and what came of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from os1.clock import Clock, from_iso, system_clock, to_iso
from os1.skills.base import SkillCall, SkillResult
from os1.store.db import Database


@dataclass(frozen=True)
class Action:
    at: datetime
    skill: str
    asked_by: str
    source_text: str
    arguments: dict[str, Any]
    outcome: str
    said: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": to_iso(self.at),
            "skill": self.skill,
            "asked_by": self.asked_by,
            "source_text": self.source_text,
            "arguments": self.arguments,
            "outcome": self.outcome,
            "said": self.said,
        }


class ActionLog:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    def record(self, call: SkillCall, result: SkillResult) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO actions (at, skill, asked_by, source_text, arguments, outcome, said)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    to_iso(self.clock()),
                    call.skill,
                    call.asked_by,
                    call.source_text,
                    json.dumps(dict(call.arguments), ensure_ascii=False),
                    result.outcome,
                    result.say,
                ),
            )

    def recent(self, limit: int = 50) -> list[Action]:
        rows = self.db.query(
            "SELECT * FROM (SELECT * FROM actions ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (limit,),
        )
        return [
            Action(
                at=from_iso(row["at"]),
                skill=row["skill"],
                asked_by=row["asked_by"],
                source_text=row["source_text"],
                arguments=json.loads(row["arguments"]),
                outcome=row["outcome"],
                said=row["said"],
            )
            for row in rows
        ]
