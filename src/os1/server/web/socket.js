// The WebSocket client: hello/welcome, reconnection with backoff, dispatch.
//
// Events (dispatched on the Os1Socket, an EventTarget):
//   "status"        detail: {state: "connecting" | "open" | "closed", attempt}
//   "welcome"       detail: the welcome message
//   "message"       detail: any other server JSON message (see msg.type)
//   "audio"         detail: ArrayBuffer of PCM16 LE from the server
//   "unauthorized"  the server refused our token (close code 4401); no reconnect
//   "fatal"         detail: {code, reason}: a close we should not retry (4426)

import { debug } from "./debug.js";

export const PROTOCOL = 1;

const PING_EVERY_MS = 25000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;

export function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

export class Os1Socket extends EventTarget {
  constructor() {
    super();
    this.ws = null;
    this.token = null;
    this.ready = false;      // true once welcome arrived
    this.attempt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.stopped = true;
    this.refCounter = 0;
    this._onOnline = () => { if (!this.stopped && !this.ws) this.reconnectNow(); };
    this._onVisible = () => {
      if (document.visibilityState === "visible" && !this.stopped && !this.ws) this.reconnectNow();
    };
  }

  start(token) {
    this.token = token;
    this.stopped = false;
    this.attempt = 0;
    window.addEventListener("online", this._onOnline);
    document.addEventListener("visibilitychange", this._onVisible);
    this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    window.removeEventListener("online", this._onOnline);
    document.removeEventListener("visibilitychange", this._onVisible);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try { ws.close(1000, "bye"); } catch { /* already closed */ }
    }
    this._setReady(false);
  }

  reconnectNow() {
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this._open();
  }

  get isOpen() {
    return this.ready && this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  nextRef() {
    this.refCounter += 1;
    return `r${Date.now().toString(36)}${this.refCounter}`;
  }

  /** Send a JSON message; returns false if the socket is not ready. */
  send(obj) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** Send a binary frame (an ArrayBuffer); returns false if not sent. */
  sendBinary(buffer) {
    if (!this.isOpen) return false;
    // Don't pile up audio behind a stalled connection: it would arrive late anyway.
    if (this.ws.bufferedAmount > 256 * 1024) return false;
    this.ws.send(buffer);
    return true;
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setReady(ready) {
    this.ready = ready;
    debug.connected = ready;
  }

  _open() {
    if (this.stopped) return;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      try { old.close(); } catch { /* ignore */ }
    }
    this._emit("status", { state: "connecting", attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch {
      this._scheduleRetry();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;

    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      ws.send(JSON.stringify({ type: "hello", protocol: PROTOCOL, token: this.token }));
    });

    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      if (typeof event.data !== "string") {
        const buf = event.data;
        debug.audioFramesReceived += 1;
        debug.audioBytesReceived += buf.byteLength;
        this._emit("audio", buf);
        return;
      }
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!msg || typeof msg.type !== "string") return;
      if (msg.type === "welcome") {
        this.attempt = 0;
        this._setReady(true);
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_EVERY_MS);
        this._emit("status", { state: "open", attempt: 0 });
        this._emit("welcome", msg);
        return;
      }
      if (msg.type === "pong") return;
      this._emit("message", msg);
    });

    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      const wasReady = this.ready;
      this._setReady(false);
      if (event.code === 4401) {
        this.stopped = true;
        this._emit("unauthorized", { code: event.code });
        return;
      }
      if (event.code === 4426) {
        this.stopped = true;
        this._emit("fatal", { code: event.code, reason: event.reason });
        return;
      }
      this._emit("status", { state: "closed", attempt: this.attempt, code: event.code, wasReady });
      this._scheduleRetry();
    });
    // "error" is always followed by "close"; nothing to do here.
  }

  _scheduleRetry() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this._open(), delay);
  }
}
