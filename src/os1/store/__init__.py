"""SQLite storage: one database file per data directory, schema by named migrations."""

from os1.store.conversations import Conversations, Message
from os1.store.db import Database
from os1.store.state import StateStore

__all__ = ["Conversations", "Database", "Message", "StateStore"]
