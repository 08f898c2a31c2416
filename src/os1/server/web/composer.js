// The message box: typing, sending (Enter or the button), stopping a reply, and putting
// back a message the server refused.

import { $, toast } from "./dom.js";
import { followNext } from "./scroll.js";
import { socket } from "./session.js";

let busy = false;             // a reply is on its way: the send button becomes stop
const pendingSends = new Map(); // ref -> text (restored to the box if the server refuses it)

/** Show send or stop: `isBusy` while the companion replies. */
export function setBusy(isBusy) {
  busy = isBusy;
  $("composer-send").hidden = busy;
  $("composer-stop").hidden = !busy;
  updateSendEnabled();
}

function updateSendEnabled() {
  $("composer-send").disabled = !$("composer-input").value.trim();
}

function autoGrow() {
  const input = $("composer-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 168)}px`;
}

/** Write to <name>… */
export function setCompanionName(name) {
  $("composer-input").placeholder = `Write to ${name}…`;
}

/** The server refused the send with this `ref`: give its text back, if the box is empty. */
export function restoreRefused(ref) {
  if (!ref || !pendingSends.has(ref)) return;
  const text = pendingSends.get(ref);
  pendingSends.delete(ref);
  const input = $("composer-input");
  if (!input.value.trim()) {
    input.value = text;
    autoGrow();
    updateSendEnabled();
  }
}

function sendMessage() {
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text) return;
  if (busy) return;
  if (!socket.isOpen) {
    toast("Not connected to OS1 yet. Your message is still in the box.", { kind: "error" });
    return;
  }
  const ref = socket.nextRef();
  socket.send({ type: "send", text, ref });
  pendingSends.set(ref, text);
  setTimeout(() => pendingSends.delete(ref), 30000);
  input.value = "";
  autoGrow();
  updateSendEnabled();
  followNext();
}

export function setupComposer() {
  const input = $("composer-input");
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      sendMessage();
    }
  });
  input.addEventListener("input", () => { autoGrow(); updateSendEnabled(); });
  $("composer-stop").addEventListener("click", () => {
    socket.send({ type: "stop" });
    input.focus();
  });
  updateSendEnabled();
}

/** Put the cursor in the box on devices with a mouse (not on phones: no keyboard pop-up). */
export function focusComposer() {
  if (matchMedia("(pointer: fine)").matches) $("composer-input").focus();
}
