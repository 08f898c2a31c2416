// The live transcript above the message box: what OS1 hears while voice is on.

import { $ } from "./dom.js";
import { voice } from "./session.js";

let transcriptTimer = 0;

export function clearTranscript() {
  clearTimeout(transcriptTimer);
  const t = $("transcript");
  t.hidden = true;
  t.textContent = "";
  t.dataset.final = "false";
}

/** The server's `transcript` message: partial (or final) text of what is being said. */
export function onTranscript(msg) {
  if (!voice.active && !msg.text) return;
  const t = $("transcript");
  t.textContent = msg.text || "";
  t.dataset.final = String(Boolean(msg.final));
  t.hidden = !msg.text;
  clearTimeout(transcriptTimer);
  transcriptTimer = setTimeout(clearTranscript, msg.final ? 8000 : 20000);
}
