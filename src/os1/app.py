"""The composition root: builds the companion's parts from a data directory and settings."""

from __future__ import annotations

import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from os1.clock import Clock, system_clock
from os1.companion.dialogue import Companion
from os1.companion.onboarding import Onboarding
from os1.companion.persona import Persona, load_persona, save_persona
from os1.companion.prompt import profile_header
from os1.config import Settings, ensure_home, load_settings, resolve_home
from os1.errors import ConfigError, NotSetUpError
from os1.llm.base import LLM
from os1.llm.registry import load_llm
from os1.llm.shared import SharedLLM
from os1.memory.core import Memory
from os1.memory.embedding import Embedder, default_embedder
from os1.parts import Progress
from os1.skills.briefing import Briefing, parse_clock
from os1.skills.caldav import Account, CalDAVClient, password_for
from os1.skills.calendar import CalendarStore
from os1.skills.calendar_skills import Remote
from os1.skills.calendar_sync import STATE_KEY as CALENDAR_SYNC_KEY
from os1.skills.calendar_sync import CalendarSync
from os1.skills.followups import FollowUps, parse_quiet
from os1.skills.router import SkillRouter
from os1.skills.scheduler import Scheduler
from os1.skills.zone import user_zone
from os1.store.conversations import Conversations
from os1.store.db import CACHE_DIR, DB_FILE, Database, clear_cache
from os1.store.state import StateStore


def stderr_progress(label: str) -> Progress:
    """A progress callback that shows a percentage on stderr.

    On a terminal one line is redrawn; elsewhere (logs, CI) a line every 25%.
    """
    last = [-1]
    live = sys.stderr.isatty()
    step = 1 if live else 25

    def report(done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 100
        shown = percent - percent % step
        if shown == last[0]:
            return
        last[0] = shown
        if live:
            end = "\n" if done >= total else ""
            print(f"\r{label}: {shown:3d}%", end=end, file=sys.stderr, flush=True)
        else:
            print(f"{label}: {shown}%", file=sys.stderr, flush=True)

    return report


@dataclass
class App:
    home: Path
    settings: Settings
    clock: Clock = system_clock
    llm_factory: Callable[[Settings], LLM] | None = None
    embedder_factory: Callable[[], Embedder] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # from the command line
    _db: Database | None = field(default=None, init=False)
    _llm: LLM | None = field(default=None, init=False)
    _memory: Memory | None = field(default=None, init=False)

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        overrides: dict[str, Any] | None = None,
        *,
        clock: Clock = system_clock,
        llm_factory: Callable[[Settings], LLM] | None = None,
        embedder_factory: Callable[[], Embedder] | None = None,
    ) -> App:
        resolved = ensure_home(resolve_home(home))
        settings = load_settings(resolved, overrides)
        return cls(resolved, settings, clock, llm_factory, embedder_factory, dict(overrides or {}))

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database.in_home(self.home)
        return self._db

    @property
    def llm(self) -> LLM:
        """The model, behind one lock for all its callers (see ``SharedLLM``)."""
        if self._llm is None:
            if self.llm_factory is not None:
                model = self.llm_factory(self.settings)
            else:
                model = load_llm(
                    self.settings,
                    stderr_progress("Preparing the embedded model (first run)"),
                    state_dir=self.home / CACHE_DIR,
                )
            self._llm = SharedLLM(model)
        return self._llm

    @property
    def memory(self) -> Memory:
        if self._memory is None:
            embedder = self.embedder_factory() if self.embedder_factory else default_embedder()
            persona = self.persona()
            self._memory = Memory(
                self.db,
                embedder,
                user_name=persona.user_name if persona else "the user",
                clock=self.clock,
            )
        return self._memory

    def consolidate(self) -> str:
        """Rebuild the core profile (also without loading a language model)."""
        persona = self.persona()
        if persona is None:
            return self.memory.consolidate()
        header = profile_header(persona, Conversations(self.db, self.clock), self.clock())
        return self.memory.consolidate(header)

    def persona(self) -> Persona | None:
        return load_persona(StateStore(self.db, self.clock))

    def require_persona(self) -> Persona:
        persona = self.persona()
        if persona is None:
            raise NotSetUpError(
                "OS1 isn't set up yet.",
                "Run `os1` to meet your companion, or "
                "`os1 setup --non-interactive --user-name NAME --voice female`.",
            )
        return persona

    def companion(self) -> Companion:
        persona = self.require_persona()  # before loading a model: it may be slow or broken
        return Companion(
            self.db,
            self.llm,
            persona,
            self.settings,
            clock=self.clock,
            memory=self.memory,
            skills=self.skills() if self.settings.skills.enabled else None,
        )

    def zone(self) -> tuple[str, tzinfo]:
        """The user's time zone (name, zone), as set or this computer's."""
        return user_zone(self.settings.skills.timezone)

    def skills(self) -> SkillRouter:
        return SkillRouter(self.db, self.zone, self.clock, self.calendar_remote, self.followups())

    def followups(self) -> FollowUps | None:
        """Follow-ups on plans the user mentions; None when turned off."""
        if not self.settings.skills.follow_ups:
            return None
        return FollowUps(
            self.db, self.zone, lambda: parse_quiet(self.settings.skills.quiet_hours), self.clock
        )

    def calendar_remote(self) -> Remote:
        """Where calendar changes go besides here (read at each use: settings change)."""
        settings = self.settings.calendar
        if not settings.caldav_url:
            return Remote()
        host = urlsplit(settings.caldav_url).hostname or settings.caldav_url
        return Remote(host, settings.allow_writes)

    def calendar_sync(self) -> CalendarSync:
        """A sync with the configured CalDAV server (``ConfigError`` when there is none)."""
        settings = self.settings.calendar
        if not settings.caldav_url:
            raise ConfigError(
                "No CalDAV server is set up.",
                "Set one with: os1 config set calendar.caldav_url https://…/calendars/you/",
            )
        account = Account(
            settings.caldav_url,
            settings.caldav_username,
            password_for(settings.caldav_password_env, settings.caldav_username),
            settings.timeout,
        )
        last = StateStore(self.db, self.clock).get(CALENDAR_SYNC_KEY) or {}
        found = last.get("calendar") if last.get("account") == settings.caldav_url else None
        return CalendarSync(
            CalendarStore(self.db, self.clock),
            CalDAVClient(account, calendar=found),
            self.zone,
            allow_writes=settings.allow_writes,
            clock=self.clock,
        )

    def scheduler(self) -> Scheduler:
        persona = self.persona()
        speaker = persona.companion_name if persona else "OS1"
        after = timedelta(hours=self.settings.chat.new_conversation_after_hours)
        return Scheduler(
            self.db,
            speaker,
            self.zone,
            clock=self.clock,
            new_conversation_after=after,
            briefing=Briefing(
                self.db,
                speaker,
                self.zone,
                lambda: parse_clock(self.settings.skills.briefing_at),
                clock=self.clock,
                new_conversation_after=after,
            ),
            followups=self.followups(),
        )

    def complete_onboarding(
        self,
        onboarding: Onboarding,
        rng: random.Random | None = None,
        *,
        replace_existing: bool = False,
    ) -> tuple[Persona, str, Path | None]:
        """Let the companion choose its name, then store it and its first words.

        The name is chosen before anything is touched, so a failure or Ctrl-C while the
        model thinks leaves the previous companion as it was. With ``replace_existing``
        the previous companion is then moved to a backup (see ``reset``), whose path is
        returned.
        """
        persona = onboarding.finish(self.llm, self.clock(), rng)
        backup = self.reset() if replace_existing else None
        self._memory = None  # it knows the user by name
        save_persona(StateStore(self.db, self.clock), persona)
        greeting = (
            f"Hi {persona.user_name}. I've chosen a name for myself: {persona.companion_name}."
            f" I picked it because {persona.name_reason}. It's really good to meet you."
        )
        conversations = Conversations(self.db, self.clock)
        conversation_id = conversations.start()
        conversations.add(conversation_id, "companion", persona.companion_name, greeting)
        return persona, greeting, backup

    def reset(self) -> Path | None:
        """Move the current database aside (nothing is deleted); return where it went."""
        if self._db is not None:
            self._db.close()
            self._db = None
        self._memory = None
        # What is kept to start fast (the model's evaluated prompt, the vector index)
        # holds the old conversation too: gone first, whatever happens next.
        clear_cache(self.home)
        db_path = self.home / DB_FILE
        if not db_path.exists():
            return None
        backups = self.home / "backups"
        backups.mkdir(exist_ok=True)
        stamp = self.clock().strftime("%Y%m%dT%H%M%S")
        target = backups / f"os1-{stamp}.db"
        number = 1
        while target.exists():
            number += 1
            target = backups / f"os1-{stamp}-{number}.db"
        # Fold the WAL into the main file first so the backup is one complete file.
        database = Database(db_path)
        database.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
        shutil.move(str(db_path), target)
        for suffix in ("-wal", "-shm"):
            (self.home / f"{DB_FILE}{suffix}").unlink(missing_ok=True)
        return target

    def reload_settings(self) -> bool:
        """Read the settings again (they were changed elsewhere); returns True when the
        model changed, in which case the old one is closed and the next use loads the new."""
        fresh = load_settings(self.home, self.overrides)
        model_changed = (fresh.model, fresh.llm, fresh.openai) != (
            self.settings.model,
            self.settings.llm,
            self.settings.openai,
        )
        self.settings = fresh
        if model_changed and self._llm is not None:
            self._llm.close()
            self._llm = None
        return model_changed

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
        if self._db is not None:
            self._db.close()
            self._db = None
