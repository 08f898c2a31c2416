// The conversation: stored messages, replies streaming in, finished spoken replies
// waiting for their stored message ("orphans"), and keeping the list in the DOM in order.

import { setBusy } from "./composer.js";
import { $, ICONS, announce, el, svgIcon, toast } from "./dom.js";
import { afterContentChange } from "./scroll.js";
import { session } from "./session.js";
import { dayKey, dayLabel, parseTime, timeFmt } from "./time.js";
import { clearTranscript } from "./transcript.js";

const messages = new Map(); // id -> message
const arrival = new Map();  // id -> arrival counter, a tiebreak for equal times
let arrivals = 0;
const streams = new Map();  // turn -> {turn, text, el}
let orphans = [];           // finished replies whose stored message is still to come (voice turns)
const busyTurns = new Set(); // turns between reply.start and reply.done

const messageEls = new Map(); // id -> <li>
const dayEls = new Map();     // day key -> <li>

function syncBusy() {
  setBusy(busyTurns.size > 0);
}

function messageTime(msg) {
  return parseTime(msg.created_at) ?? 0;
}

function sortedMessages() {
  return [...messages.values()].sort((a, b) =>
    messageTime(a) - messageTime(b) || (arrival.get(a.id) || 0) - (arrival.get(b.id) || 0));
}

function viaIcon(via) {
  if (via === "voice") return svgIcon(ICONS.voice);
  if (via === "terminal") return svgIcon(ICONS.terminal);
  if (via === "api") return svgIcon(ICONS.api);
  return null;
}

function metaFor(msg) {
  const parts = [];
  const ms = parseTime(msg.created_at);
  if (msg.role === "user") {
    if (msg.via === "voice") parts.push("spoken");
    else if (msg.via === "terminal") parts.push("terminal");
    else if (msg.via === "api") parts.push("API");
    if (msg.device && (!session.device || msg.device !== session.device.name)) parts.push(msg.device);
  }
  if (ms !== null) parts.push(timeFmt.format(new Date(ms)));
  return parts.join(" · ");
}

function fillMessage(node, msg) {
  node.dataset.id = msg.id;
  node.dataset.role = msg.role === "user" ? "user" : "companion";
  node.dataset.status = msg.status || "complete";
  node.dataset.via = msg.via || "text";
  node.removeAttribute("data-streaming");
  node.removeAttribute("data-turn");
  node.removeAttribute("data-empty");
  const bubble = node.querySelector(".bubble") || node.appendChild(el("div", { class: "bubble" }));
  bubble.textContent = msg.text || "";
  let meta = node.querySelector(".msg-meta");
  if (!meta) meta = node.appendChild(el("div", { class: "msg-meta" }));
  meta.replaceChildren();
  const icon = viaIcon(msg.via);
  if (icon && msg.role === "user") meta.append(icon);
  meta.append(el("span", { text: metaFor(msg) }));
  if (msg.status === "interrupted") meta.append(el("span", { class: "msg-flag", text: "· interrupted" }));
  if (msg.status === "error") meta.append(el("span", { class: "msg-flag", text: "· not answered" }));
  const label = msg.role === "user" ? (msg.speaker || session.user || "You") : (msg.speaker || session.companion);
  bubble.setAttribute("aria-label", `${label}: ${msg.text || ""}`);
}

function messageNode(msg) {
  let node = messageEls.get(msg.id);
  if (!node) {
    node = el("li", { class: "msg", "data-testid": "message" });
    messageEls.set(msg.id, node);
  }
  fillMessage(node, msg);
  return node;
}

function streamNode(stream) {
  if (!stream.el) {
    stream.el = el("li", {
      class: "msg", "data-testid": "message", "data-role": "companion", "data-streaming": "true",
      "data-status": "streaming", "data-turn": String(stream.turn),
    }, el("div", { class: "bubble" }));
  }
  const bubble = stream.el.querySelector(".bubble");
  if (bubble.textContent !== stream.text) bubble.textContent = stream.text;
  stream.el.dataset.empty = String(!stream.text);
  return stream.el;
}

/** Put the DOM in the order of the state, touching only what changed. */
function renderMessages() {
  const list = $("messages");
  const wanted = [];
  let lastDay = null;
  let lastRole = null;
  for (const msg of sortedMessages()) {
    const ms = messageTime(msg);
    if (ms) {
      const key = dayKey(ms);
      if (key !== lastDay) {
        let divider = dayEls.get(key);
        if (!divider) {
          divider = el("li", { class: "day", role: "separator" });
          dayEls.set(key, divider);
        }
        divider.textContent = dayLabel(ms);
        wanted.push(divider);
        lastDay = key;
        lastRole = null;
      }
    }
    const node = messageNode(msg);
    node.classList.toggle("msg--cont", lastRole === msg.role);
    lastRole = msg.role;
    wanted.push(node);
  }
  for (const orphan of orphans) {
    orphan.el.classList.toggle("msg--cont", lastRole === "companion");
    lastRole = "companion";
    wanted.push(orphan.el);
  }
  for (const stream of streams.values()) {
    const node = streamNode(stream);
    node.classList.toggle("msg--cont", lastRole === "companion");
    lastRole = "companion";
    wanted.push(node);
  }
  const keep = new Set(wanted);
  for (const child of [...list.children]) if (!keep.has(child)) child.remove();
  let cursor = list.firstElementChild;
  for (const node of wanted) {
    if (node === cursor) { cursor = cursor.nextElementSibling; continue; }
    list.insertBefore(node, cursor);
  }
  for (const [id, node] of messageEls) if (!messages.has(id)) { messageEls.delete(id); node.remove(); }
  $("chat-empty").hidden = wanted.length > 0;
}

function upsertMessage(msg) {
  if (!msg || !msg.id) return;
  if (!arrival.has(msg.id)) arrival.set(msg.id, ++arrivals);
  messages.set(msg.id, msg);
}

/** Start over from the welcome's recent messages (after every (re)connect). */
export function loadConversation(recent) {
  messages.clear();
  arrival.clear();
  streams.clear();
  busyTurns.clear();
  for (const o of orphans) { clearTimeout(o.timer); o.el.remove(); }
  orphans = [];
  for (const m of recent || []) upsertMessage(m);
  renderMessages();
  syncBusy();
}

/** The socket dropped: a reply in flight is lost to it (the next welcome has it). */
export function dropRepliesInFlight() {
  if (busyTurns.size || streams.size) {
    busyTurns.clear();
    for (const s of streams.values()) s.el?.remove();
    streams.clear();
    syncBusy();
  }
}

/** A reminder that came due: a toast on the page, and a system notification when the
 * page is hidden and the user allowed them. */
function notifyReminder(m) {
  toast(m.text, { kind: "reminder", timeout: 0 });
  announce(`${session.companion}: ${m.text}`);
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible") return;
  try {
    new Notification(session.companion || "OS1", { body: m.text, tag: m.id });
  } catch {
    // Some browsers only notify from a service worker: the toast is still there.
  }
}

function onMessage(msg) {
  const m = msg.message;
  if (!m) return;
  if (m.role !== "user" && !messages.has(m.id)) {
    // A spoken reply is stored after its reply.done: it takes the place of the finished
    // bubble that reply.done named by reply_id. (A text reply comes in reply.done.)
    const named = orphans.findIndex((o) => o.id === m.id);
    if (named >= 0) {
      const orphan = orphans.splice(named, 1)[0];
      clearTimeout(orphan.timer);
      if (!messageEls.has(m.id)) messageEls.set(m.id, orphan.el);
      else orphan.el.remove();
    }
  }
  if (m.role === "user" && m.via === "voice") clearTranscript();
  if (m.kind === "reminder" && !messages.has(m.id)) notifyReminder(m);
  upsertMessage(m);
  renderMessages();
  afterContentChange(m.role === "user" && session.device && m.device === session.device.name);
}

function onReplyDelta(msg) {
  let stream = streams.get(msg.turn);
  if (!stream) {
    // Joined mid-reply (e.g. after a reconnect): show it from here on.
    stream = { turn: msg.turn, text: "", el: null };
    streams.set(msg.turn, stream);
    busyTurns.add(msg.turn);
    syncBusy();
    stream.text += msg.text || "";
    renderMessages();
  } else {
    stream.text += msg.text || "";
    streamNode(stream);
  }
  afterContentChange();
}

function onReplyDone(msg) {
  const stream = streams.get(msg.turn);
  streams.delete(msg.turn);
  busyTurns.delete(msg.turn);
  if (stream && stream.el) {
    if (msg.message && msg.message.id && !messageEls.has(msg.message.id)) {
      // Reuse the element so the bubble does not jump or flash.
      messageEls.set(msg.message.id, stream.el);
    } else if (!msg.message && msg.reply_id && !messages.has(msg.reply_id) && stream.text) {
      // Spoken turns: the stored message follows as a `message` event. Keep the
      // bubble until then (or a few seconds, if nothing comes).
      const node = stream.el;
      node.dataset.streaming = "false";
      node.dataset.status = msg.status || "complete";
      const orphan = { el: node, timer: 0, id: msg.reply_id || null };
      orphan.timer = setTimeout(() => {
        orphans = orphans.filter((o) => o !== orphan);
        renderMessages();
      }, 8000);
      orphans.push(orphan);
      announce(`${session.companion}: ${stream.text}`);
    } else {
      stream.el.remove();
    }
  }
  if (msg.message) {
    upsertMessage(msg.message);
    if (msg.message.text) announce(`${session.companion}: ${msg.message.text}`);
  } else if (msg.status === "failed") {
    const why = typeof msg.error === "string" && msg.error ? ` ${msg.error}` : "";
    toast(`${session.companion} could not answer just now.${why}`, { kind: "error", timeout: 8000 });
  }
  renderMessages();
  syncBusy();
  afterContentChange();
}

/** Handle a server message about the conversation; false if `msg` is not one. */
export function onConversationEvent(msg) {
  switch (msg.type) {
    case "message":
      onMessage(msg);
      return true;
    case "message.updated": {
      const m = msg.message;
      if (!m || !m.id) return true;
      upsertMessage(m);
      renderMessages();
      return true;
    }
    case "message.removed":
      if (!msg.id) return true;
      messages.delete(msg.id);
      renderMessages();
      return true;
    case "reply.start":
      // A typed message comes with the start of its reply (no `message` event for it).
      if (msg.message) onMessage({ type: "message", message: msg.message });
      busyTurns.add(msg.turn);
      if (!streams.has(msg.turn)) streams.set(msg.turn, { turn: msg.turn, text: "", el: null });
      renderMessages();
      syncBusy();
      afterContentChange();
      return true;
    case "reply.delta":
      onReplyDelta(msg);
      return true;
    case "reply.done":
      onReplyDone(msg);
      return true;
    default:
      return false;
  }
}
