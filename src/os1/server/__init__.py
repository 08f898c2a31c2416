"""The OS1 server: one companion served to the user's own devices (see docs/protocol.md)."""
