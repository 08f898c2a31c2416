"""Voice: talk with the companion in real time (microphone → VAD → STT → companion →
TTS → speaker), with barge-in. Each swappable stage has one Protocol in ``base``."""
