// The hands-free voice button: starting and stopping voice, and telling the person why
// it stopped when they did not stop it themselves.

import { $, toast } from "./dom.js";
import { ensureLevelLoop, renderPresence } from "./presence.js";
import { socket, voice } from "./session.js";
import { clearTranscript } from "./transcript.js";

const VOICE_REASONS = {
  stopped: "",
  asked: "",
  user: "",
  replaced: "Voice moved to another device.",
  taken_over: "Voice moved to another device.",
  other_device: "Voice moved to another device.",
  error: "Voice stopped because of an error.",
  voice_unavailable: "Voice is not available on this OS1.",
  disconnected: "Voice stopped: the connection to OS1 dropped.",
  unpaired: "",
};

let userStoppedVoice = false;

function reasonText(reason) {
  if (reason in VOICE_REASONS) return VOICE_REASONS[reason];
  const text = String(reason).trim();
  if (/\s/.test(text)) return text; // the server explains itself in a sentence
  return `Voice stopped (${text.replace(/_/g, " ")}).`;
}

export function setupVoiceControls() {
  const button = $("voice-toggle");
  button.addEventListener("click", () => {
    if (voice.active) {
      userStoppedVoice = true;
      voice.stop();
      return;
    }
    if (!socket.isOpen) {
      toast("Not connected to OS1 yet.", { kind: "error" });
      return;
    }
    userStoppedVoice = false;
    voice.start(); // creates/resumes the AudioContext synchronously, inside the click
  });
  voice.addEventListener("state", (event) => {
    const { state: vstate, reason, error, remote } = event.detail;
    button.dataset.state = vstate;
    renderPresence();
    button.setAttribute("aria-pressed", String(vstate !== "off"));
    const label = vstate === "off" ? "Start hands-free voice" : vstate === "starting" ? "Starting voice… (press to cancel)" : "Stop hands-free voice";
    button.setAttribute("aria-label", label);
    button.title = label;
    if (vstate === "off") {
      clearTranscript();
      if (error) toast(error, { kind: "error", timeout: 8000 });
      else if (remote && reason && !userStoppedVoice) {
        const text = reasonText(reason);
        if (text) toast(text);
      }
      userStoppedVoice = false;
    } else {
      ensureLevelLoop();
    }
  });
}
