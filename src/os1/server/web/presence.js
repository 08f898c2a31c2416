// Presence: the companion's orb and its label (idle, listening, thinking, speaking), the
// orb and mic button following voice levels, and the connection pill beside them.

import { $ } from "./dom.js";
import { session, voice } from "./session.js";

const PRESENCE_LABELS = {
  idle: "Here with you",
  listening: "Listening",
  thinking: "Thinking",
  speaking: "Speaking",
};

export function renderPresence() {
  let label = !session.connected ? "Away for a moment" : (PRESENCE_LABELS[session.presence] || PRESENCE_LABELS.idle);
  if (session.connected && voice.state === "starting") label = "Getting my voice ready…";
  const node = $("presence");
  node.dataset.state = session.presence;
  node.dataset.connected = String(session.connected);
  node.setAttribute("aria-label", `${session.companion} is ${session.connected ? (session.presence || "idle") : "not connected"}`);
  const labelNode = $("presence-label");
  if (labelNode.textContent !== label) labelNode.textContent = label;
}

/** The server's `presence` message. */
export function onPresence(msg) {
  session.presence = msg.state || "idle";
  renderPresence();
  if (voice.active) ensureLevelLoop();
}

let levelFrame = 0;
let shownLevel = 0;

function levelLoop() {
  levelFrame = 0;
  const presence = $("presence");
  const active = voice.active;
  let target = 0;
  const out = active ? voice.outputLevel() : 0;
  const mic = active ? voice.micLevel() : 0;
  if (session.presence === "speaking") target = out;
  else if (session.presence === "listening") target = mic * 0.8;
  shownLevel += (target - shownLevel) * (target > shownLevel ? 0.45 : 0.12);
  presence.style.setProperty("--level", shownLevel.toFixed(3));
  presence.dataset.levels = String(active && session.presence === "speaking");
  $("voice-toggle").style.setProperty("--mic", (session.presence === "speaking" ? 0 : mic).toFixed(3));
  if (active || shownLevel > 0.002) levelFrame = requestAnimationFrame(levelLoop);
  else {
    presence.style.setProperty("--level", "0");
    $("voice-toggle").style.setProperty("--mic", "0");
  }
}

export function ensureLevelLoop() {
  if (!levelFrame) levelFrame = requestAnimationFrame(levelLoop);
}

/** The connection pill: "open", "connecting" or anything else (offline, retrying). */
export function renderConnection(status) {
  const node = $("connection");
  node.dataset.state = status;
  node.textContent = status === "open" ? "Connected"
    : status === "connecting" ? "Connecting…"
      : "Offline · reconnecting";
}
