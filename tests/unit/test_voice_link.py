"""The companion's voice sent over a socket: paced a little ahead, and taken back when the
device drops what it had not played."""

from __future__ import annotations

import asyncio

import numpy as np

from os1.server.voice_link import LEAD_S, SocketSpeaker
from os1.voice.audio import from_pcm16


def test_audio_the_device_drops_is_sent_again_if_the_reply_goes_on() -> None:
    now = [100.0]
    sent: list[bytes] = []
    playing: list[bool] = []

    async def scenario() -> None:
        speaker = SocketSpeaker(1000, sent.append, playing.append, clock=lambda: now[0])
        playback = speaker.playback
        reply = playback.begin_reply()
        piece = playback.add_piece(reply, "one two three four")
        playback.play(reply, piece, np.linspace(0.1, 0.9, 800, dtype=np.float32))
        playback.piece_done(reply, piece)
        await speaker.start()
        await asyncio.sleep(0.1)  # the clock stands still: only the lead goes out
        first = np.concatenate([from_pcm16(frame) for frame in sent])
        assert first.size == round(LEAD_S * 1000) and playing == [True]
        # Talked over: the device drops its buffer, and playback pauses ("mm-hm"?).
        speaker.unsend()
        playback.pause()
        assert playback.heard_text() == ""  # nothing it dropped counts as heard
        await asyncio.sleep(0.05)
        assert playing == [True, False]
        # Only "mm-hm": the reply goes on from where the user really was.
        sent.clear()
        playback.resume()
        await asyncio.sleep(0.05)
        again = np.concatenate([from_pcm16(frame) for frame in sent])
        np.testing.assert_allclose(again, first, atol=1 / 16384)
        await speaker.close()

    asyncio.run(scenario())
