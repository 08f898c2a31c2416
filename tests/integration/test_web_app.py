"""The web app end to end: Debian's Chromium, driven by Playwright, against the real server
on loopback. A WAV from the shared fixtures is the browser's microphone.

Screenshots at phone and desktop sizes are saved in ``test-artifacts/`` (or
``$OS1_TEST_ARTIFACTS``) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from os1.app import App
from os1.config import VoiceSettings
from os1.llm.fake import FakeLLM
from os1.server.app import create_app
from os1.server.hub import Hub
from os1.server.runner import ServerThread
from os1.voice.audio import read_wav, write_wav
from os1.voice.pipeline import VoiceParts

pytestmark = pytest.mark.integration

SPEECH = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "speech"
ARTIFACTS = Path(
    os.environ.get("OS1_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
REPLY = "Good to see you, Theo. Tell me about your day."
TIMEOUT_MS = 30_000


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(
                "Chromium is missing; scripts/test.sh installs it (apt-get install chromium)."
            )
        pytest.skip("the browser tests need Chromium: sudo apt-get install chromium")
    return path


def _male_voice(settings: VoiceSettings, voice: str, models_dir: Path) -> VoiceParts:
    from os1.voice.pipeline import load_parts

    return load_parts(settings, "male", models_dir, quiet=True)  # the quickest real voice


@pytest.fixture
def server(onboarded: App, fake_llm: FakeLLM) -> Iterator[tuple[ServerThread, Hub]]:
    fake_llm.default = REPLY
    fake_llm.delay = 0.08  # streamed word by word, as a model does
    hub = Hub(onboarded, voice_loader=_male_voice)
    with ServerThread(create_app(hub)).running() as running:
        yield running, hub


def _launch(playwright: Any, *extra: str) -> Any:
    return playwright.chromium.launch(
        executable_path=_chromium(),
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            *extra,
        ],
    )


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def _pair(browser: Any, url: str, hub: Hub, viewport: dict[str, int], **options: Any) -> Any:
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.goto(f"{url}/#pair={hub.devices.new_code()}")
    page.get_by_test_id("composer-input").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("() => window.os1Debug && window.os1Debug.connected", timeout=TIMEOUT_MS)
    assert "#pair" not in page.url  # the code does not stay in the address bar
    return page


def test_pair_chat_on_two_devices_and_screenshots(
    server: tuple[ServerThread, Hub],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    running, hub = server
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        phone = _pair(browser, running.url, hub, PHONE, is_mobile=True, has_touch=True)
        # Note every moment a reply is shown while it is still being written.
        phone.evaluate(
            """() => {
              window.streamedTexts = [];
              new MutationObserver(() => {
                const open = document.querySelector('[data-streaming="true"]');
                if (open) window.streamedTexts.push(open.textContent);
              }).observe(document.body, {subtree: true, childList: true, characterData: true,
                                         attributes: true});
            }"""
        )
        composer = phone.get_by_test_id("composer-input")
        composer.fill("Hello from my phone!")
        composer.press("Enter")
        mine = phone.locator('[data-testid="message"][data-role="user"]').last
        expect(mine).to_contain_text("Hello from my phone!", timeout=TIMEOUT_MS)
        reply = phone.locator('[data-testid="message"][data-role="companion"]').last
        expect(reply).to_have_text(re.compile(re.escape(REPLY)), timeout=TIMEOUT_MS)
        expect(phone.locator('[data-streaming="true"]')).to_have_count(0, timeout=TIMEOUT_MS)
        # It came in as it was written: shown growing, before it was whole.
        streamed = phone.evaluate("() => window.streamedTexts")
        assert any(0 < len(text.strip()) < len(REPLY) for text in streamed), streamed
        _shot(phone, "phone-chat")

        # A second device, paired separately, sees the same conversation, and what it
        # sends appears live on the phone.
        desktop = _pair(browser, running.url, hub, DESKTOP)
        expect(desktop.locator('[data-testid="message"][data-role="user"]').last).to_contain_text(
            "Hello from my phone!", timeout=TIMEOUT_MS
        )
        desk_composer = desktop.get_by_test_id("composer-input")
        desk_composer.fill("And hello from the laptop.")
        desktop.get_by_test_id("composer-send").click()
        expect(phone.locator('[data-testid="message"][data-role="user"]').last).to_contain_text(
            "And hello from the laptop.", timeout=TIMEOUT_MS
        )
        replies = desktop.locator('[data-testid="message"][data-role="companion"]')
        expect(replies.filter(has_text=REPLY)).to_have_count(2, timeout=TIMEOUT_MS)
        _shot(desktop, "desktop-chat")

        desktop.get_by_test_id("tab-memory").click()
        desktop.get_by_test_id("memory-search").fill("laptop")
        desktop.get_by_test_id("memory-search").press("Enter")
        expect(desktop.get_by_test_id("memory-item").first).to_be_visible(timeout=TIMEOUT_MS)
        _shot(desktop, "desktop-memory")
        desktop.get_by_test_id("tab-settings").click()
        expect(desktop.get_by_test_id("device")).to_have_count(2, timeout=TIMEOUT_MS)
        _shot(desktop, "desktop-settings")
        phone.get_by_test_id("tab-settings").click()
        expect(phone.get_by_test_id("setting-voice")).to_be_visible(timeout=TIMEOUT_MS)
        _shot(phone, "phone-settings")
        browser.close()

    stored = [m.text for m in hub.feed.recent(10)]
    assert "Hello from my phone!" in stored and "And hello from the laptop." in stored


def test_a_device_without_a_token_is_asked_to_pair(server: tuple[ServerThread, Hub]) -> None:
    from playwright.sync_api import expect, sync_playwright

    running, _ = server
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport=PHONE)
        page.goto(running.url)
        page.get_by_test_id("pair-code").fill("AAAA-AAAA")
        page.get_by_test_id("pair-submit").click()
        expect(page.get_by_test_id("pair-error")).to_be_visible(timeout=TIMEOUT_MS)
        _shot(page, "phone-pairing")
        browser.close()


@pytest.fixture
def microphone_wav(tmp_path: Path) -> Path:
    """A spoken sentence with quiet around it (Chromium plays the file in a loop)."""
    speech = read_wav(SPEECH / "sb_spk1_snt5.wav")
    quiet = np.zeros(16_000 * 2, dtype=np.float32)
    path = tmp_path / "microphone.wav"
    write_wav(path, np.concatenate([quiet, speech, quiet, quiet, quiet]), 16_000)
    return path


def test_speak_through_the_fake_microphone(
    server: tuple[ServerThread, Hub], microphone_wav: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    running, hub = server
    with sync_playwright() as playwright:
        browser = _launch(
            playwright,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone_wav}",
            "--autoplay-policy=no-user-gesture-required",
        )
        page = _pair(browser, running.url, hub, PHONE, is_mobile=True, has_touch=True)
        page.context.grant_permissions(["microphone"])
        toggle = page.get_by_test_id("voice-toggle")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT_MS)
        # What was said shows up (live transcript, then the stored message)...
        said = page.locator('[data-testid="message"][data-role="user"]').last
        expect(said).to_contain_text(re.compile("sunday", re.IGNORECASE), timeout=60_000)
        # ... the reply is spoken back: audio frames reach the browser ...
        page.wait_for_function(
            "() => window.os1Debug && window.os1Debug.audioFramesReceived > 5", timeout=60_000
        )
        assert page.evaluate("() => window.os1Debug.micFramesSent") > 50
        expect(page.locator('[data-testid="message"][data-role="companion"]').last).to_contain_text(
            "Good to see you", timeout=60_000
        )
        _shot(page, "phone-voice")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "false", timeout=TIMEOUT_MS)
        browser.close()

    spoken = [m for m in hub.feed.recent(10) if m.meta.get("via") == "voice"]
    assert spoken and "sunday" in spoken[-1].text.lower()


def test_a_reminder_fires_into_the_open_page(
    server: tuple[ServerThread, Hub], onboarded: App
) -> None:
    """A reminder that comes due is shown on the page as a message and a notification,
    its markup as text."""
    from datetime import timedelta

    from playwright.sync_api import expect, sync_playwright

    from os1.skills.scheduler import Ticker

    running, hub = server
    clock = onboarded.clock
    store = onboarded.skills().reminders
    store.add("<b>call</b> Annie", clock() + timedelta(minutes=1), "UTC")
    ticker = Ticker(onboarded.scheduler(), lambda fired: None, every=0.2)
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = _pair(browser, running.url, hub, PHONE)
        ticker.start()
        assert not page.get_by_test_id("toast").filter(has_text="Annie").count()
        clock.advance(minutes=2)  # type: ignore[attr-defined]
        toast = page.get_by_test_id("toast").filter(has_text="Reminder: <b>call</b> Annie.")
        expect(toast).to_be_visible(timeout=TIMEOUT_MS)
        expect(toast).to_have_attribute("data-kind", "reminder")
        message = page.get_by_test_id("message").filter(has_text="<b>call</b> Annie")
        expect(message).to_have_count(1, timeout=TIMEOUT_MS)
        _shot(page, "phone-reminder")
        browser.close()
    ticker.stop()
    assert store.active() == []


def test_in_voice_mode_a_reminder_is_said_aloud(
    server: tuple[ServerThread, Hub], onboarded: App, tmp_path: Path
) -> None:
    """With voice on and the user quiet, a reminder that comes due is spoken: its audio
    reaches the page, besides the notification."""
    from datetime import timedelta

    from playwright.sync_api import expect, sync_playwright

    from os1.skills.scheduler import Ticker

    running, hub = server
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, np.zeros(16_000 * 3, dtype=np.float32), 16_000)
    clock = onboarded.clock
    onboarded.skills().reminders.add("stretch your legs", clock() + timedelta(minutes=1), "UTC")
    ticker = Ticker(onboarded.scheduler(), lambda fired: None, every=0.2)
    with sync_playwright() as playwright:
        browser = _launch(
            playwright,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={quiet}",
            "--autoplay-policy=no-user-gesture-required",
        )
        page = _pair(browser, running.url, hub, PHONE)
        page.context.grant_permissions(["microphone"])
        toggle = page.get_by_test_id("voice-toggle")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT_MS)
        page.wait_for_function("() => window.os1Debug.micFramesSent > 10", timeout=TIMEOUT_MS)
        assert hub.voice is not None  # the voice is on and listening
        ticker.start()
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.os1Debug.audioFramesReceived") == 0
        clock.advance(minutes=2)  # type: ignore[attr-defined]
        toast = page.get_by_test_id("toast").filter(has_text="Reminder: stretch your legs.")
        expect(toast).to_be_visible(timeout=TIMEOUT_MS)
        page.wait_for_function("() => window.os1Debug.audioFramesReceived > 5", timeout=TIMEOUT_MS)
        toggle.click()
        browser.close()
    ticker.stop()
