// OS1 web app: pairing, conversation, presence, voice, memory and settings.

import { Os1Socket } from "./socket.js";
import { Voice } from "./voice.js";

const debug = (window.os1Debug ||= {
  audioFramesReceived: 0,
  audioBytesReceived: 0,
  micFramesSent: 0,
  connected: false,
});

const TOKEN_KEY = "os1.token";
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- small helpers

function svgIcon(paths, cls = "icon") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  svg.innerHTML = paths; // static, trusted markup only
  return svg;
}

const ICONS = {
  voice: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21"/>',
  terminal: '<rect x="3" y="4.5" width="18" height="15" rx="3"/><path d="m7.5 10 3 2.5-3 2.5M12.5 15.5h4"/>',
  api: '<path d="m8.5 7.5-5 4.5 5 4.5M15.5 7.5l5 4.5-5 4.5"/>',
  phone: '<rect x="6.5" y="2.5" width="11" height="19" rx="2.5"/><path d="M10.5 18.5h3"/>',
  laptop: '<rect x="4.5" y="5" width="15" height="10.5" rx="1.5"/><path d="M2.5 19h19"/>',
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

function parseTime(value) {
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : null;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
const dateYearFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

function dayKey(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

function dayLabel(ms) {
  const today = new Date();
  const start = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime();
  if (ms >= start) return "Today";
  if (ms >= start - 86400000) return "Yesterday";
  const d = new Date(ms);
  return d.getFullYear() === today.getFullYear() ? dateFmt.format(d) : dateYearFmt.format(d);
}

function relativeTime(value) {
  const ms = parseTime(value);
  if (ms === null) return "";
  const diff = (ms - Date.now()) / 1000;
  const abs = Math.abs(diff);
  if (abs < 60) return "just now";
  if (abs < 3600) return relFmt.format(Math.round(diff / 60), "minute");
  if (abs < 86400) return relFmt.format(Math.round(diff / 3600), "hour");
  if (abs < 86400 * 30) return relFmt.format(Math.round(diff / 86400), "day");
  return dateYearFmt.format(new Date(ms));
}

function shortDate(value) {
  const ms = parseTime(value);
  if (ms === null) return "";
  const d = new Date(ms);
  return d.getFullYear() === new Date().getFullYear()
    ? new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" }).format(d)
    : dateYearFmt.format(d);
}

/** "Chrome on Android", "Safari on iPhone", "Firefox on Windows"… */
export function deviceNameFromUA(ua = navigator.userAgent) {
  let browser = "Browser";
  if (/Edg(e|A|iOS)?\//.test(ua)) browser = "Edge";
  else if (/OPR\/|Opera/.test(ua)) browser = "Opera";
  else if (/SamsungBrowser\//.test(ua)) browser = "Samsung Internet";
  else if (/Firefox\/|FxiOS\//.test(ua)) browser = "Firefox";
  else if (/Chrome\/|CriOS\/|Chromium\//.test(ua)) browser = "Chrome";
  else if (/Safari\//.test(ua)) browser = "Safari";
  let os = "";
  if (/iPhone/.test(ua)) os = "iPhone";
  else if (/iPad/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1)) os = "iPad";
  else if (/Android/.test(ua)) os = "Android";
  else if (/CrOS/.test(ua)) os = "ChromeOS";
  else if (/Macintosh|Mac OS X/.test(ua)) os = "Mac";
  else if (/Windows/.test(ua)) os = "Windows";
  else if (/Linux/.test(ua)) os = "Linux";
  return os ? `${browser} on ${os}` : browser;
}

// ---------------------------------------------------------------- toasts

function toast(message, { kind = "info", timeout = 5000 } = {}) {
  const box = $("toasts");
  const close = el("button", { class: "toast-close", type: "button", "aria-label": "Dismiss" }, "×");
  const node = el("div", { class: "toast", "data-kind": kind, "data-testid": "toast" },
    el("span", { class: "toast-text", text: message }), close);
  const remove = () => {
    if (!node.isConnected) return;
    node.classList.add("leaving");
    setTimeout(() => node.remove(), 240);
  };
  close.addEventListener("click", remove);
  box.append(node);
  while (box.children.length > 3) box.firstElementChild.remove();
  if (timeout) setTimeout(remove, timeout);
}

// ---------------------------------------------------------------- HTTP API

class ApiError extends Error {
  constructor(status, data, retryAfter = null) {
    super((data && data.message) || `HTTP ${status}`);
    this.status = status;
    this.data = data || {};
    this.retryAfter = retryAfter;
  }
}

const state = {
  token: localStorage.getItem(TOKEN_KEY),
  view: "chat",
  device: null,
  companion: "OS1",
  user: "",
  model: "",
  presence: "idle",
  connected: false,
  messages: new Map(),   // id -> message
  arrival: new Map(),    // id -> arrival counter, a tiebreak for equal times
  arrivals: 0,
  streams: new Map(),    // turn -> {turn, text, el}
  orphans: [],           // finished replies whose stored message is still to come (voice turns)
  busyTurns: new Set(),  // turns between reply.start and reply.done
  pendingSends: new Map(), // ref -> text (restored to the box if the server refuses it)
  userStoppedVoice: false,
};

async function api(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, { error: "network", message: "OS1 could not be reached." });
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
  }
  if (!response.ok) {
    const retry = Number(response.headers.get("Retry-After"));
    const error = new ApiError(response.status, data, Number.isFinite(retry) ? retry : null);
    if (response.status === 401 && auth) disconnected();
    throw error;
  }
  return data || {};
}

// ---------------------------------------------------------------- screens

function showScreen(name) {
  $("boot").hidden = true;
  $("pair-screen").hidden = name !== "pair";
  $("app").hidden = name !== "app";
}

// ---------------------------------------------------------------- pairing

let retryTimer = 0;
let rateLimitedUntil = 0;

function normaliseCode(raw) {
  return String(raw || "").toUpperCase().replace(/[^0-9A-Z]/g, "");
}

function showPairError(message) {
  const box = $("pair-error");
  box.textContent = message || "";
  box.hidden = !message;
  $("pair-code").setAttribute("aria-invalid", message ? "true" : "false");
}

function showPairing(notice = "") {
  const noticeBox = $("pair-notice");
  noticeBox.textContent = notice;
  noticeBox.hidden = !notice;
  showScreen("pair");
  document.title = "Pair with OS1";
  setTimeout(() => $("pair-code").focus(), 50);
}

function startRetryCountdown(seconds) {
  const button = $("pair-submit");
  clearInterval(retryTimer);
  let left = Math.max(1, Math.ceil(seconds));
  rateLimitedUntil = Date.now() + left * 1000;
  const tick = () => {
    if (left <= 0) {
      clearInterval(retryTimer);
      rateLimitedUntil = 0;
      button.disabled = false;
      showPairError("You can try again now.");
      return;
    }
    button.disabled = true;
    showPairError(`Too many tries. Wait ${left} second${left === 1 ? "" : "s"}, then try again.`);
    left -= 1;
  };
  tick();
  retryTimer = setInterval(tick, 1000);
}

async function pair(rawCode) {
  const code = normaliseCode(rawCode);
  if (code.length !== 8) {
    showPairError("The code has 8 letters and numbers, like K7QD-2MXA.");
    return false;
  }
  const button = $("pair-submit");
  button.disabled = true;
  button.textContent = "Pairing…";
  showPairError("");
  try {
    const data = await api("/api/pair", {
      method: "POST",
      body: { code, name: deviceNameFromUA() },
      auth: false,
    });
    if (!data.token) throw new ApiError(500, { message: "OS1 gave no token." });
    localStorage.setItem(TOKEN_KEY, data.token);
    state.token = data.token;
    state.device = data.device || null;
    $("pair-code").value = "";
    startApp();
    return true;
  } catch (err) {
    if (err.status === 401) {
      showPairError("That code is wrong or has expired. Get a fresh one with os1 pair on your computer.");
    } else if (err.status === 429) {
      startRetryCountdown(err.retryAfter || 60);
    } else if (err.status === 0) {
      showPairError("OS1 could not be reached. Is os1 serve still running?");
    } else {
      showPairError(err.message || "Pairing failed.");
    }
    return false;
  } finally {
    button.textContent = "Pair this device";
    button.disabled = Date.now() < rateLimitedUntil;
  }
}

function setupPairForm() {
  const input = $("pair-code");
  input.addEventListener("input", () => {
    // Show the code the way it is printed: XXXX-XXXX.
    const code = normaliseCode(input.value).slice(0, 8);
    const pretty = code.length > 4 ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
    if (input.value !== pretty) input.value = pretty;
    if (!$("pair-submit").disabled) showPairError("");
  });
  $("pair-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if ($("pair-submit").disabled) return;
    pair(input.value);
  });
}

/** The server no longer knows this device's token. */
function disconnected() {
  if (!state.token) return;
  localStorage.removeItem(TOKEN_KEY);
  state.token = null;
  socket.stop();
  if (voice.active) voice.onEnded("unpaired");
  showPairing("This device was disconnected from OS1. Pair it again.");
}

function forgetThisDevice() {
  localStorage.removeItem(TOKEN_KEY);
  state.token = null;
  socket.stop();
  if (voice.active) voice.onEnded("unpaired");
  showPairing("This device is no longer paired. Pair it again to talk.");
}

// ---------------------------------------------------------------- navigation

const VIEWS = ["chat", "memory", "settings"];

function setView(view) {
  if (!VIEWS.includes(view)) view = "chat";
  state.view = view;
  $("app").dataset.view = view;
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (view === "memory") memory.open();
  if (view === "settings") settings.open();
  if (view === "chat") requestAnimationFrame(() => scrollToBottom());
}

// ---------------------------------------------------------------- presence

const PRESENCE_LABELS = {
  idle: "Here with you",
  listening: "Listening",
  thinking: "Thinking",
  speaking: "Speaking",
};

function renderPresence() {
  let label = !state.connected ? "Away for a moment" : (PRESENCE_LABELS[state.presence] || PRESENCE_LABELS.idle);
  if (state.connected && voice.state === "starting") label = "Getting my voice ready…";
  const node = $("presence");
  node.dataset.state = state.presence;
  node.dataset.connected = String(state.connected);
  node.setAttribute("aria-label", `${state.companion} is ${state.connected ? (state.presence || "idle") : "not connected"}`);
  const labelNode = $("presence-label");
  if (labelNode.textContent !== label) labelNode.textContent = label;
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
  if (state.presence === "speaking") target = out;
  else if (state.presence === "listening") target = mic * 0.8;
  shownLevel += (target - shownLevel) * (target > shownLevel ? 0.45 : 0.12);
  presence.style.setProperty("--level", shownLevel.toFixed(3));
  presence.dataset.levels = String(active && state.presence === "speaking");
  $("voice-toggle").style.setProperty("--mic", (state.presence === "speaking" ? 0 : mic).toFixed(3));
  if (active || shownLevel > 0.002) levelFrame = requestAnimationFrame(levelLoop);
  else {
    presence.style.setProperty("--level", "0");
    $("voice-toggle").style.setProperty("--mic", "0");
  }
}

function ensureLevelLoop() {
  if (!levelFrame) levelFrame = requestAnimationFrame(levelLoop);
}

// ---------------------------------------------------------------- conversation

const scroller = () => $("scroller");
let stickToBottom = true;

function isAtBottom() {
  const s = scroller();
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  const s = scroller();
  s.scrollTop = s.scrollHeight;
  stickToBottom = true;
  $("jump").hidden = true;
}

function afterContentChange(force = false) {
  if (force || stickToBottom) scrollToBottom();
  else $("jump").hidden = false;
}

function messageTime(msg) {
  return parseTime(msg.created_at) ?? 0;
}

function sortedMessages() {
  return [...state.messages.values()].sort((a, b) =>
    messageTime(a) - messageTime(b) || (state.arrival.get(a.id) || 0) - (state.arrival.get(b.id) || 0));
}

const messageEls = new Map(); // id -> <li>
const dayEls = new Map();     // day key -> <li>

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
    if (msg.device && (!state.device || msg.device !== state.device.name)) parts.push(msg.device);
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
  const label = msg.role === "user" ? (msg.speaker || state.user || "You") : (msg.speaker || state.companion);
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
  for (const orphan of state.orphans) {
    orphan.el.classList.toggle("msg--cont", lastRole === "companion");
    lastRole = "companion";
    wanted.push(orphan.el);
  }
  for (const stream of state.streams.values()) {
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
  for (const [id, node] of messageEls) if (!state.messages.has(id)) { messageEls.delete(id); node.remove(); }
  $("chat-empty").hidden = wanted.length > 0;
}

function upsertMessage(msg) {
  if (!msg || !msg.id) return;
  if (!state.arrival.has(msg.id)) state.arrival.set(msg.id, ++state.arrivals);
  state.messages.set(msg.id, msg);
}

function announce(text) {
  const region = $("live-region");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 30);
}

function setBusy() {
  const busy = state.busyTurns.size > 0;
  $("composer-send").hidden = busy;
  $("composer-stop").hidden = !busy;
  updateSendEnabled();
}

function updateSendEnabled() {
  $("composer-send").disabled = !$("composer-input").value.trim();
}

let transcriptTimer = 0;

function clearTranscript() {
  clearTimeout(transcriptTimer);
  const t = $("transcript");
  t.hidden = true;
  t.textContent = "";
  t.dataset.final = "false";
}

function onWelcome(msg) {
  state.device = msg.device || state.device;
  state.companion = msg.companion || "OS1";
  state.user = msg.user || "";
  state.model = msg.model || "";
  state.presence = msg.presence || "idle";
  state.connected = true;
  $("companion-name").textContent = state.companion;
  document.title = state.companion === "OS1" ? "OS1" : `${state.companion} · OS1`;
  $("composer-input").placeholder = `Write to ${state.companion}…`;
  state.messages.clear();
  state.arrival.clear();
  state.streams.clear();
  state.busyTurns.clear();
  for (const o of state.orphans) { clearTimeout(o.timer); o.el.remove(); }
  state.orphans = [];
  for (const m of msg.messages || []) upsertMessage(m);
  renderMessages();
  setBusy();
  renderPresence();
  renderConnection("open");
  requestAnimationFrame(() => scrollToBottom());
}

function handleServerMessage(msg) {
  switch (msg.type) {
    case "message": {
      const m = msg.message;
      if (!m) return;
      if (m.role !== "user" && !state.messages.has(m.id)) {
        if (state.orphans.length) {
          // A spoken reply is stored after its reply.done: it takes the finished bubble's
          // place (the one reply.done named by reply_id, else the oldest waiting).
          const named = state.orphans.findIndex((o) => o.id === m.id);
          const orphan = state.orphans.splice(named >= 0 ? named : 0, 1)[0];
          clearTimeout(orphan.timer);
          if (!messageEls.has(m.id)) messageEls.set(m.id, orphan.el);
          else orphan.el.remove();
        } else if (state.streams.size > 0) {
          // The stored reply may arrive before reply.done: it takes the streaming bubble's place.
          const [turn, stream] = state.streams.entries().next().value;
          if (stream.el) messageEls.set(m.id, stream.el);
          state.streams.delete(turn);
        }
      }
      if (m.role === "user" && m.via === "voice") clearTranscript();
      upsertMessage(m);
      renderMessages();
      afterContentChange(m.role === "user" && state.device && m.device === state.device.name);
      break;
    }
    case "message.updated": {
      const m = msg.message;
      if (!m || !m.id) return;
      upsertMessage(m);
      renderMessages();
      break;
    }
    case "message.removed": {
      if (!msg.id) return;
      state.messages.delete(msg.id);
      renderMessages();
      break;
    }
    case "reply.start": {
      state.busyTurns.add(msg.turn);
      if (!state.streams.has(msg.turn)) state.streams.set(msg.turn, { turn: msg.turn, text: "", el: null });
      renderMessages();
      setBusy();
      afterContentChange();
      break;
    }
    case "reply.delta": {
      let stream = state.streams.get(msg.turn);
      if (!stream) {
        // Joined mid-reply (e.g. after a reconnect): show it from here on.
        stream = { turn: msg.turn, text: "", el: null };
        state.streams.set(msg.turn, stream);
        state.busyTurns.add(msg.turn);
        setBusy();
        stream.text += msg.text || "";
        renderMessages();
      } else {
        stream.text += msg.text || "";
        streamNode(stream);
      }
      afterContentChange();
      break;
    }
    case "reply.done": {
      const stream = state.streams.get(msg.turn);
      state.streams.delete(msg.turn);
      state.busyTurns.delete(msg.turn);
      if (stream && stream.el) {
        if (msg.message && msg.message.id && !messageEls.has(msg.message.id)) {
          // Reuse the element so the bubble does not jump or flash.
          messageEls.set(msg.message.id, stream.el);
        } else if (!msg.message && stream.text && msg.status !== "failed") {
          // Spoken turns: the stored message follows as a `message` event. Keep the
          // bubble until then (or a few seconds, if nothing comes).
          const node = stream.el;
          node.dataset.streaming = "false";
          node.dataset.status = msg.status || "complete";
          const orphan = { el: node, timer: 0, id: msg.reply_id || null };
          orphan.timer = setTimeout(() => {
            state.orphans = state.orphans.filter((o) => o !== orphan);
            renderMessages();
          }, 8000);
          state.orphans.push(orphan);
          announce(`${state.companion}: ${stream.text}`);
        } else {
          stream.el.remove();
        }
      }
      if (msg.message) {
        upsertMessage(msg.message);
        if (msg.message.text) announce(`${state.companion}: ${msg.message.text}`);
      } else if (msg.status === "failed") {
        const why = typeof msg.error === "string" && msg.error ? ` ${msg.error}` : "";
        toast(`${state.companion} could not answer just now.${why}`, { kind: "error", timeout: 8000 });
      }
      renderMessages();
      setBusy();
      afterContentChange();
      break;
    }
    case "presence": {
      state.presence = msg.state || "idle";
      renderPresence();
      if (voice.active) ensureLevelLoop();
      break;
    }
    case "transcript": {
      if (!voice.active && !msg.text) return;
      const t = $("transcript");
      t.textContent = msg.text || "";
      t.dataset.final = String(Boolean(msg.final));
      t.hidden = !msg.text;
      clearTimeout(transcriptTimer);
      transcriptTimer = setTimeout(clearTranscript, msg.final ? 8000 : 20000);
      break;
    }
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

const ERROR_TEXT = {
  empty: "There is nothing to send.",
  too_long: "That message is too long to send.",
  voice_unavailable: "Voice is not available on this OS1.",
  failed: "Something went wrong.",
};

function onServerError(msg) {
  if (msg.ref && state.pendingSends.has(msg.ref)) {
    const text = state.pendingSends.get(msg.ref);
    state.pendingSends.delete(msg.ref);
    const input = $("composer-input");
    if (!input.value.trim()) {
      input.value = text;
      autoGrow();
      updateSendEnabled();
    }
  }
  if (msg.code === "voice_unavailable" && voice.active) voice.onEnded("voice_unavailable");
  const text = msg.message || ERROR_TEXT[msg.code] || "Something went wrong.";
  toast(text, { kind: "error" });
}

function sendMessage() {
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text) return;
  if (state.busyTurns.size > 0) return;
  if (!socket.isOpen) {
    toast("Not connected to OS1 yet. Your message is still in the box.", { kind: "error" });
    return;
  }
  const ref = socket.nextRef();
  socket.send({ type: "send", text, ref });
  state.pendingSends.set(ref, text);
  setTimeout(() => state.pendingSends.delete(ref), 30000);
  input.value = "";
  autoGrow();
  updateSendEnabled();
  stickToBottom = true;
}

function autoGrow() {
  const input = $("composer-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 168)}px`;
}

function setupComposer() {
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
  scroller().addEventListener("scroll", () => {
    stickToBottom = isAtBottom();
    if (stickToBottom) $("jump").hidden = true;
  }, { passive: true });
  $("jump").addEventListener("click", () => scrollToBottom());
  // Keep the view pinned to the bottom when the keyboard or window resizes it.
  new ResizeObserver(() => { if (stickToBottom) scrollToBottom(); }).observe(scroller());
  updateSendEnabled();
}

// ---------------------------------------------------------------- connection

function renderConnection(status) {
  const node = $("connection");
  node.dataset.state = status;
  node.textContent = status === "open" ? "Connected"
    : status === "connecting" ? "Connecting…"
      : "Offline · reconnecting";
}

// ---------------------------------------------------------------- voice

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

function reasonText(reason) {
  if (reason in VOICE_REASONS) return VOICE_REASONS[reason];
  const text = String(reason).trim();
  if (/\s/.test(text)) return text; // the server explains itself in a sentence
  return `Voice stopped (${text.replace(/_/g, " ")}).`;
}

function setupVoice() {
  const button = $("voice-toggle");
  button.addEventListener("click", () => {
    if (voice.active) {
      state.userStoppedVoice = true;
      voice.stop();
      return;
    }
    if (!socket.isOpen) {
      toast("Not connected to OS1 yet.", { kind: "error" });
      return;
    }
    state.userStoppedVoice = false;
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
      else if (remote && reason && !state.userStoppedVoice) {
        const text = reasonText(reason);
        if (text) toast(text);
      }
      state.userStoppedVoice = false;
    } else {
      ensureLevelLoop();
    }
  });
}

// ---------------------------------------------------------------- inline confirmation

/** Replace `actions`' contents with "question [cancel] [confirm]" until one is chosen. */
function confirmInline(actions, { question, confirmLabel, testid }) {
  return new Promise((resolve) => {
    const previous = [...actions.childNodes];
    const done = (answer) => {
      actions.replaceChildren(...previous);
      resolve(answer);
    };
    const cancel = el("button", { class: "button button--small button--quiet", type: "button", "data-testid": `${testid}-cancel`, onclick: () => { done(false); previous[0]?.focus?.(); } }, "Keep");
    const confirm = el("button", { class: "button button--small button--danger button--solid", type: "button", "data-testid": `${testid}-confirm`, onclick: () => done(true) }, confirmLabel);
    const row = el("div", { class: "confirm-row", role: "group", "aria-label": question },
      el("span", { class: "confirm-q", text: question }), cancel, confirm);
    actions.replaceChildren(row);
    confirm.focus();
    row.addEventListener("keydown", (event) => { if (event.key === "Escape") done(false); });
  });
}

// ---------------------------------------------------------------- memory

const KIND_LABEL = { fact: "Fact", episode: "Moment", profile: "About you" };

const memory = {
  seq: 0,
  timer: 0,
  loadedOnce: false,

  open() {
    this.load();
  },

  setup() {
    const input = $("memory-search");
    input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), 250);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { clearTimeout(this.timer); this.load(); }
    });
  },

  async load() {
    const q = $("memory-search").value.trim();
    const seq = ++this.seq;
    const status = $("memory-status");
    status.dataset.kind = "";
    if (!this.loadedOnce) status.textContent = "Loading…";
    try {
      const data = q
        ? await api(`/api/memory/search?q=${encodeURIComponent(q)}&k=20`)
        : await api("/api/memory/facts");
      if (seq !== this.seq) return;
      this.loadedOnce = true;
      const items = (q ? data.hits : data.facts) || [];
      this.render(items, q);
    } catch (err) {
      if (seq !== this.seq || err.status === 401) return;
      status.dataset.kind = "error";
      status.textContent = err.message || "Memory could not be loaded.";
    }
  },

  render(items, q) {
    const list = $("memory-list");
    const status = $("memory-status");
    list.replaceChildren(...items.map((item) => this.item(item)));
    if (items.length) status.textContent = q ? `${items.length} memor${items.length === 1 ? "y" : "ies"} about “${q}”` : "";
    else status.textContent = q ? `Nothing remembered about “${q}”.` : `${state.companion} hasn't noted any facts yet. They appear here as you talk.`;
  },

  item(item) {
    const actions = el("div", { class: "card-actions" });
    const forget = el("button", {
      class: "button button--small button--quiet", type: "button", "data-testid": "memory-forget",
      "aria-label": `Forget: ${item.text}`,
    }, "Forget");
    actions.append(forget);
    const meta = el("div", { class: "card-meta" },
      el("span", { class: "kind", "data-kind": item.kind, text: KIND_LABEL[item.kind] || item.kind || "Memory" }),
      item.speaker ? el("span", { text: item.speaker }) : null,
      item.time ? el("time", { datetime: item.time, title: new Date(parseTime(item.time) || 0).toLocaleString(), text: shortDate(item.time) }) : null,
      item.current === false ? el("span", { text: "no longer true" }) : null);
    const node = el("li", {
      class: "card", "data-testid": "memory-item", "data-id": item.id, "data-kind": item.kind,
      "data-current": String(item.current !== false),
    }, el("p", { class: "card-text", text: item.text }), actions, meta);
    forget.addEventListener("click", async () => {
      const yes = await confirmInline(actions, { question: "Forget this?", confirmLabel: "Forget", testid: "memory-forget" });
      if (!yes) { forget.focus(); return; }
      try {
        await api(`/api/memory/${encodeURIComponent(item.id)}`, { method: "DELETE" });
      } catch (err) {
        if (err.status !== 404) {
          if (err.status !== 401) toast(err.message || "It could not be forgotten.", { kind: "error" });
          return;
        }
      }
      node.classList.add("leaving");
      setTimeout(() => {
        node.remove();
        if (!$("memory-list").children.length) this.render([], $("memory-search").value.trim());
      }, 220);
      toast("Forgotten.");
    });
    return node;
  },
};

// ---------------------------------------------------------------- settings

const SETTING_LABELS = {
  "voice.voice": ["Voice", "How your companion sounds."],
  "voice.rate": ["Speaking rate", ""],
  "voice.pitch": ["Pitch", "In semitones."],
  "voice.mood_prosody": ["Mood in the voice", "Let the companion's mood colour how it speaks."],
  "voice.barge_in": ["Talk over it", "Stop speaking when you start talking."],
  model: ["Model", "The language model your companion thinks with: embedded, gguf:/path/to/model.gguf, openai:NAME or fake."],
  "voice.stt_model": ["Speech recognition", "tiny.en is fastest; base understands a little more."],
};
const VOICE_KEYS = ["voice.voice", "voice.rate", "voice.pitch", "voice.mood_prosody", "voice.barge_in", "voice.stt_model"];
const COMPANION_KEYS = ["model"];
const RANGES = { "voice.rate": [0.5, 2, 0.05], "voice.pitch": [-6, 6, 0.5] };

const settings = {
  values: {},
  options: {},

  async open() {
    this.loadSettings();
    this.loadDevices();
  },

  setup() {
    const button = $("forget-this-device");
    button.addEventListener("click", async () => {
      const yes = await confirmInline($("forget-actions"), { question: "Unpair this device?", confirmLabel: "Forget", testid: "forget-this-device" });
      if (!yes) { $("forget-this-device").focus(); return; }
      const id = state.device && state.device.id;
      try {
        if (id) await api(`/api/devices/${encodeURIComponent(id)}`, { method: "DELETE" });
      } catch (err) {
        if (err.status === 401) return; // already gone: disconnected() took over
        if (err.status !== 404) {
          toast(err.message || "This device could not be unpaired.", { kind: "error" });
          return;
        }
      }
      forgetThisDevice();
    });
  },

  async loadSettings() {
    const status = $("settings-status");
    status.dataset.kind = "";
    try {
      const data = await api("/api/settings");
      this.values = data.values || {};
      this.options = data.options || {};
      this.running = typeof data.model === "string" ? data.model : "";
      status.textContent = "";
      this.render();
    } catch (err) {
      if (err.status === 401) return;
      status.dataset.kind = "error";
      status.textContent = err.message || "Settings could not be loaded.";
    }
  },

  render() {
    const keys = Object.keys(this.values);
    const voiceKeys = VOICE_KEYS.filter((k) => k in this.values);
    const companionKeys = COMPANION_KEYS.filter((k) => k in this.values);
    const known = new Set([...voiceKeys, ...companionKeys]);
    const more = keys.filter((k) => !known.has(k));
    const active = document.activeElement && document.activeElement.id;
    $("settings-voice").replaceChildren(...voiceKeys.map((k) => this.field(k)));
    $("settings-companion").replaceChildren(...companionKeys.map((k) => this.field(k)));
    $("settings-more").replaceChildren(...more.map((k) => this.field(k)));
    $("settings-voice").closest(".panel").hidden = voiceKeys.length === 0;
    $("settings-companion").closest(".panel").hidden = companionKeys.length === 0;
    $("settings-more").closest(".panel").hidden = more.length === 0;
    if (active && $(active)) $(active).focus();
  },

  field(key) {
    const value = this.values[key];
    const id = `setting-${key.replace(/[^a-z0-9]+/gi, "-")}`;
    const [label, help] = SETTING_LABELS[key] || [key, ""];
    const error = el("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
    const saved = el("span", { class: "field-saved", "aria-hidden": "true" }, "Saved");
    const wrap = el("div", { class: "field", "data-key": key });
    const labelNode = el("label", { class: "field-label", for: id, text: label });
    const helpText = key === "model" && this.running ? `${help} Running now: ${this.running}.` : help;
    const helpNode = helpText ? el("p", { class: "field-help", id: `${id}-help`, text: helpText }) : null;
    const describedBy = [helpText ? `${id}-help` : "", `${id}-error`].filter(Boolean).join(" ");
    let control;
    let extra = null;
    const options = this.options[key];

    if (Array.isArray(options) && options.length) {
      control = el("select", { class: "select", id, "aria-describedby": describedBy });
      const normalised = options.map((o) => (o && typeof o === "object" ? o : { value: o, label: String(o) }));
      if (!normalised.some((o) => String(o.value) === String(value))) {
        const shown = value === "" ? "Default" : String(value);
        normalised.unshift({ value, label: `${shown.charAt(0).toUpperCase()}${shown.slice(1)} (current)` });
      }
      for (const o of normalised) {
        control.append(el("option", { value: String(o.value), text: o.label || String(o.value) || "Default" }));
      }
      control.value = String(value ?? "");
      control.addEventListener("change", () => this.save(key, this.coerce(value, control.value), wrap));
    } else if (typeof value === "boolean") {
      control = el("input", { class: "switch", type: "checkbox", id, role: "switch", "aria-describedby": describedBy });
      control.checked = value;
      control.addEventListener("change", () => this.save(key, control.checked, wrap));
    } else if (key in RANGES) {
      const [min, max, step] = RANGES[key];
      control = el("input", { type: "range", id, min, max, step, "aria-describedby": describedBy });
      control.value = String(value);
      const shown = el("output", { class: "field-value", for: id });
      const fmt = (v) => (key === "voice.pitch" ? `${v > 0 ? "+" : ""}${Number(v).toFixed(1)}` : `${Number(v).toFixed(2)}×`);
      shown.textContent = fmt(value);
      control.addEventListener("input", () => { shown.textContent = fmt(control.value); });
      control.addEventListener("change", () => this.save(key, Number(control.value), wrap));
      extra = shown;
    } else {
      const isNumber = typeof value === "number";
      control = el("input", {
        class: "text-input", id, type: isNumber ? "number" : "text", "aria-describedby": describedBy,
        spellcheck: "false", autocomplete: "off", step: isNumber ? "any" : null,
      });
      control.value = value === null || value === undefined ? "" : String(value);
      let lastTried = value;
      const commit = () => {
        const next = this.coerce(value, control.value);
        if (next === lastTried) return; // Enter, then blur: one request is enough
        lastTried = next;
        this.save(key, next, wrap);
      };
      control.addEventListener("change", commit);
      control.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); commit(); } });
    }
    if (key === "voice.voice") control.dataset.testid = "setting-voice";
    control.setAttribute("data-testid", control.dataset.testid || id);

    const head = el("div", { class: "field-row" }, labelNode, el("span", { class: "field-row" }, saved, extra));
    if (typeof value === "boolean") {
      wrap.append(el("div", { class: "field-row" }, el("div", {}, labelNode, helpNode), el("span", { class: "field-row" }, saved, control)), error);
    } else {
      wrap.append(...[head, helpNode, control, error].filter(Boolean));
    }
    return wrap;
  },

  coerce(original, raw) {
    if (typeof original === "number") {
      const n = Number(raw);
      return raw === "" || !Number.isFinite(n) ? raw : n;
    }
    return raw;
  },

  async save(key, value, wrap) {
    const error = wrap.querySelector(".field-error");
    const saved = wrap.querySelector(".field-saved");
    try {
      const data = await api("/api/settings", { method: "PATCH", body: { [key]: value } });
      error.hidden = true;
      if (data && data.values && typeof data.values === "object") Object.assign(this.values, data.values);
      else this.values[key] = value;
      if (data && typeof data.model === "string") this.running = data.model;
      saved.classList.add("show");
      setTimeout(() => saved.classList.remove("show"), 1600);
    } catch (err) {
      if (err.status === 401) return;
      error.textContent = (err.data && err.data.message) || err.message || "That value was not accepted.";
      error.hidden = false;
      // Put the control back to the stored value, keeping the message visible.
      const control = wrap.querySelector("select, input");
      const old = this.values[key];
      if (control.type === "checkbox") control.checked = Boolean(old);
      else if (control.tagName !== "INPUT" || control.type === "range") {
        control.value = String(old ?? "");
        control.dispatchEvent(new Event("input"));
      }
    }
  },

  async loadDevices() {
    const status = $("devices-status");
    status.dataset.kind = "";
    try {
      const data = await api("/api/devices");
      this.renderDevices(data.devices || []);
      status.textContent = "";
    } catch (err) {
      if (err.status === 401) return;
      status.dataset.kind = "error";
      status.textContent = err.message || "Devices could not be loaded.";
    }
  },

  renderDevices(devices) {
    const list = $("device-list");
    const current = devices.find((d) => d.current);
    if (current) state.device = { ...(state.device || {}), id: current.id, name: current.name };
    const sorted = [...devices].sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0)
      || (parseTime(b.last_seen_at) || 0) - (parseTime(a.last_seen_at) || 0));
    list.replaceChildren(...sorted.map((d) => this.device(d)));
  },

  device(d) {
    const looksMobile = /android|iphone|ipad|phone|pixel|galaxy/i.test(d.name || "");
    const actions = el("div", { class: "card-actions" });
    const meta = [];
    if (d.created_at) meta.push(`Paired ${shortDate(d.created_at)}`);
    if (d.current) meta.push("in use now");
    else if (d.last_seen_at) meta.push(`last seen ${relativeTime(d.last_seen_at)}`);
    else meta.push("not seen since pairing");
    const node = el("li", { class: "device", "data-testid": "device", "data-id": d.id, "data-current": String(Boolean(d.current)) },
      el("span", { class: "device-icon" }, svgIcon(looksMobile ? ICONS.phone : ICONS.laptop)),
      el("div", { class: "device-main" },
        el("p", { class: "device-name" }, d.name || "Unnamed device", d.current ? el("span", { class: "badge", text: "This device" }) : null),
        el("p", { class: "device-meta", text: meta.join(" · ") })),
      actions);
    if (!d.current) {
      const revoke = el("button", {
        class: "button button--small button--quiet button--danger", type: "button", "data-testid": "device-revoke",
        "aria-label": `Revoke ${d.name || "device"}`,
      }, "Revoke");
      actions.append(revoke);
      revoke.addEventListener("click", async () => {
        const yes = await confirmInline(actions, { question: "Revoke?", confirmLabel: "Revoke", testid: "device-revoke" });
        if (!yes) { revoke.focus(); return; }
        try {
          await api(`/api/devices/${encodeURIComponent(d.id)}`, { method: "DELETE" });
        } catch (err) {
          if (err.status === 401) return;
          if (err.status !== 404) { toast(err.message || "The device could not be revoked.", { kind: "error" }); return; }
        }
        node.remove();
        toast(`${d.name || "The device"} can no longer reach OS1.`);
      });
    }
    return node;
  },
};

// ---------------------------------------------------------------- wiring

const socket = new Os1Socket();
const voice = new Voice(socket);

socket.addEventListener("welcome", (event) => onWelcome(event.detail));
socket.addEventListener("message", (event) => handleServerMessage(event.detail));
socket.addEventListener("audio", (event) => voice.onAudio(event.detail));
socket.addEventListener("status", (event) => {
  const { state: status } = event.detail;
  if (status !== "open") {
    state.connected = false;
    renderConnection(status === "connecting" && event.detail.attempt === 0 ? "connecting" : "closed");
    renderPresence();
    if (voice.active) voice.onEnded("disconnected");
    // A reply in flight is lost to this socket; the welcome after reconnecting has it.
    if (state.busyTurns.size || state.streams.size) {
      state.busyTurns.clear();
      for (const s of state.streams.values()) s.el?.remove();
      state.streams.clear();
      setBusy();
    }
  }
});
socket.addEventListener("unauthorized", () => disconnected());
socket.addEventListener("fatal", () => {
  renderConnection("closed");
  $("connection").textContent = "This OS1 needs a newer app: reload the page";
  toast("OS1 speaks a different protocol version. Reload the page to update the app.", { kind: "error", timeout: 0 });
});

let appWired = false;

function startApp() {
  showScreen("app");
  if (!appWired) {
    appWired = true;
    setupComposer();
    setupVoice();
    memory.setup();
    settings.setup();
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", () => setView(tab.dataset.view));
    }
  }
  setView("chat");
  renderPresence();
  renderConnection("connecting");
  socket.start(state.token);
  setTimeout(() => { if (matchMedia("(pointer: fine)").matches) $("composer-input").focus(); }, 50);
}

function registerServiceWorker() {
  if (!window.isSecureContext || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("sw.js").catch(() => {});
}

function boot() {
  setupPairForm();
  const match = /(?:^#|&)pair=([^&]+)/.exec(location.hash);
  if (match) {
    const code = decodeURIComponent(match[1]);
    history.replaceState(null, "", location.pathname + location.search);
    showPairing();
    $("pair-code").value = normaliseCode(code).replace(/^(.{4})(.+)$/, "$1-$2");
    pair(code);
  } else if (state.token) {
    startApp();
  } else {
    showPairing();
  }
  registerServiceWorker();
}

boot();
void debug;
