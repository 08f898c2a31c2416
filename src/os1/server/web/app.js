// OS1 web app: wires the parts together and starts them. Each part lives in its own
// module; this one only routes the socket's events and decides what opens first.

import { getToken, setUnauthorizedHandler } from "./api.js";
import { focusComposer, restoreRefused, setCompanionName, setupComposer } from "./composer.js";
import { dropRepliesInFlight, loadConversation, onConversationEvent } from "./conversation.js";
import { devicesView } from "./devices-view.js";
import { $, showScreen, toast } from "./dom.js";
import { memoryView } from "./memory-view.js";
import { setView, setupNavigation } from "./navigation.js";
import { disconnected, pairFromLink, setupPairing, showPairing, takeCodeFromLink } from "./pairing.js";
import { onPresence, renderConnection, renderPresence } from "./presence.js";
import { scrollToBottom, setupScroll } from "./scroll.js";
import { session, socket, voice } from "./session.js";
import { onTranscript } from "./transcript.js";
import { setupVoiceControls } from "./voice-controls.js";

const ERROR_TEXT = {
  empty: "There is nothing to send.",
  too_long: "That message is too long to send.",
  voice_unavailable: "Voice is not available on this OS1.",
  failed: "Something went wrong.",
};

function onWelcome(msg) {
  session.device = msg.device || session.device;
  session.companion = msg.companion || "OS1";
  session.user = msg.user || "";
  session.model = msg.model || "";
  session.presence = msg.presence || "idle";
  session.connected = true;
  $("companion-name").textContent = session.companion;
  document.title = session.companion === "OS1" ? "OS1" : `${session.companion} · OS1`;
  setCompanionName(session.companion);
  loadConversation(msg.messages);
  renderPresence();
  renderConnection("open");
  requestAnimationFrame(() => scrollToBottom());
}

function onServerError(msg) {
  restoreRefused(msg.ref);
  if (msg.code === "voice_unavailable" && voice.active) voice.onEnded("voice_unavailable");
  const text = msg.message || ERROR_TEXT[msg.code] || "Something went wrong.";
  toast(text, { kind: "error" });
}

function onServerMessage(msg) {
  // A reply's own events carry the companion's presence (no separate frame for it).
  if (msg.type !== "presence" && typeof msg.presence === "string") onPresence({ state: msg.presence });
  if (onConversationEvent(msg)) return;
  switch (msg.type) {
    case "presence":
      onPresence(msg);
      break;
    case "transcript":
      onTranscript(msg);
      break;
    case "voice.ready":
      voice.onReady(msg);
      break;
    case "voice.ended":
      voice.onEnded(msg.reason || "");
      break;
    case "audio.stop":
      voice.stopAudio();
      break;
    case "error":
      onServerError(msg);
      break;
    default:
      break;
  }
}

function onSocketStatus({ state, attempt }) {
  if (state === "open") return;
  session.connected = false;
  renderConnection(state === "connecting" && attempt === 0 ? "connecting" : "closed");
  renderPresence();
  if (voice.active) voice.onEnded("disconnected");
  dropRepliesInFlight();
}

socket.addEventListener("welcome", (event) => onWelcome(event.detail));
socket.addEventListener("message", (event) => onServerMessage(event.detail));
socket.addEventListener("audio", (event) => voice.onAudio(event.detail));
socket.addEventListener("status", (event) => onSocketStatus(event.detail));
socket.addEventListener("unauthorized", () => disconnected());
socket.addEventListener("fatal", () => {
  renderConnection("closed");
  $("connection").textContent = "This OS1 needs a newer app: reload the page";
  toast("OS1 speaks a different protocol version. Reload the page to update the app.", { kind: "error", timeout: 0 });
});
setUnauthorizedHandler(() => disconnected());

let appWired = false;

function startApp() {
  showScreen("app");
  if (!appWired) {
    appWired = true;
    setupComposer();
    setupScroll();
    setupVoiceControls();
    memoryView.setup();
    devicesView.setup();
    setupNavigation();
  }
  setView("chat");
  renderPresence();
  renderConnection("connecting");
  socket.start(getToken());
  setTimeout(focusComposer, 50);
}

function registerServiceWorker() {
  if (!window.isSecureContext || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("sw.js").catch(() => {});
}

function boot() {
  setupPairing(startApp);
  const code = takeCodeFromLink();
  if (code !== null) pairFromLink(code);
  else if (getToken()) startApp();
  else showPairing();
  registerServiceWorker();
}

boot();
