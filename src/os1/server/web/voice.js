// Hands-free voice: microphone capture (via mic-worklet.js) and gap-free playback.
//
// Events (on the Voice, an EventTarget):
//   "state"  detail: {state: "off" | "starting" | "on", reason?, error?}
//
// Levels for the presence animation: voice.micLevel() and voice.outputLevel(), 0..1.

import { debug } from "./debug.js";

const INPUT_RATE = 16000;
const READY_TIMEOUT_MS = 90000; // the first start may load speech models
const RESTART_LEAD_S = 0.03; // how far ahead to restart playback when it ran dry

export class VoiceError extends Error {}

export class Voice extends EventTarget {
  constructor(socket) {
    super();
    this.socket = socket;
    this.state = "off";
    this.ctx = null;
    this.stream = null;
    this.source = null;
    this.worklet = null;
    this.sink = null;
    this.ready = false;
    this.readyTimer = 0;
    this.outputRate = 24000;
    // Playback
    this.outGain = null;
    this.analyser = null;
    this.analyserData = null;
    this.cursor = 0;
    this.playing = new Set();
    this.carry = null; // a dangling odd byte from the previous frame
    this.mic = 0;
    this.moduleContext = null; // the AudioContext the worklet module was added to
  }

  get active() {
    return this.state !== "off";
  }

  _setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...extra } }));
  }

  /**
   * Start voice. Call this straight from a click handler: the AudioContext is made and
   * resumed before the first await, so autoplay policies allow it to play.
   */
  async start() {
    if (this.state !== "off") return;
    this._setState("starting");
    try {
      if (!this.ctx || this.ctx.state === "closed") {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        if (!Ctx) throw new VoiceError("This browser cannot play or record audio.");
        this.ctx = new Ctx({ latencyHint: "interactive" });
      }
      const resumed = this.ctx.resume();
      this._setupPlayback();

      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw new VoiceError(window.isSecureContext
          ? "This browser has no microphone access."
          : "Voice needs a secure (https) connection to use the microphone.");
      }
      if (!this.ctx.audioWorklet) {
        throw new VoiceError("This browser cannot process microphone audio (no AudioWorklet).");
      }

      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          audio: {
            echoCancellation: true,
            noiseSuppression: true,
            autoGainControl: true,
            channelCount: 1,
          },
        });
      } catch (err) {
        const name = err && err.name;
        if (name === "NotAllowedError" || name === "SecurityError") {
          throw new VoiceError("Microphone access was refused. Allow it in the browser's site settings to talk.");
        }
        if (name === "NotFoundError" || name === "OverconstrainedError") {
          throw new VoiceError("No microphone was found.");
        }
        if (name === "NotReadableError") {
          throw new VoiceError("The microphone is busy in another app.");
        }
        throw new VoiceError("The microphone could not be opened.");
      }
      if (this.state !== "starting") { // turned off while we waited
        stream.getTracks().forEach((t) => t.stop());
        return;
      }
      this.stream = stream;

      if (this.moduleContext !== this.ctx) {
        await this.ctx.audioWorklet.addModule(new URL("./mic-worklet.js", import.meta.url));
        this.moduleContext = this.ctx;
      }
      await resumed;
      if (this.state !== "starting") { this._teardown(); return; }

      this.source = this.ctx.createMediaStreamSource(stream);
      this.worklet = new AudioWorkletNode(this.ctx, "os1-mic", {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        channelCount: 1,
        channelCountMode: "explicit",
        channelInterpretation: "speakers",
      });
      this.worklet.port.onmessage = (event) => this._onFrame(event.data);
      // A silent sink keeps the worklet pulled by the graph in every browser.
      this.sink = this.ctx.createGain();
      this.sink.gain.value = 0;
      this.source.connect(this.worklet);
      this.worklet.connect(this.sink);
      this.sink.connect(this.ctx.destination);

      stream.getAudioTracks().forEach((track) => {
        track.addEventListener("ended", () => {
          if (this.active) this.stop({ reason: "The microphone was disconnected." });
        });
      });

      if (!this.socket.send({ type: "voice.start", sample_rate: INPUT_RATE, format: "pcm_s16le" })) {
        throw new VoiceError("Not connected to OS1.");
      }
      this.readyTimer = setTimeout(() => {
        if (this.state === "starting") this.stop({ reason: "OS1 did not answer; voice is off." });
      }, READY_TIMEOUT_MS);
    } catch (err) {
      this._teardown();
      const message = err instanceof VoiceError ? err.message : "Voice could not start.";
      if (!(err instanceof VoiceError)) console.error(err);
      this._setState("off", { error: message });
    }
  }

  /** The server accepted voice.start. */
  onReady(msg) {
    if (this.state !== "starting") return;
    clearTimeout(this.readyTimer);
    if (msg && Number(msg.output_rate) > 0) this.outputRate = Number(msg.output_rate);
    this.ready = true;
    this._setState("on");
  }

  /** The server ended voice (or the connection dropped). */
  onEnded(reason) {
    if (this.state === "off") return;
    this._teardown();
    this._setState("off", { reason, remote: true });
  }

  /** The user turned voice off (or something local failed). */
  stop({ reason = null } = {}) {
    if (this.state === "off") return;
    this.socket.send({ type: "voice.stop" });
    this._teardown();
    this._setState("off", reason ? { error: reason } : {});
  }

  _onFrame(data) {
    if (!data) return;
    const level = Math.min(1, (data.level || 0) * 4);
    this.mic = Math.max(level, this.mic * 0.85);
    if (!this.ready || !data.frame) return;
    if (this.socket.sendBinary(data.frame)) debug.micFramesSent += 1;
  }

  micLevel() {
    this.mic *= 0.96;
    return this.active ? this.mic : 0;
  }

  outputLevel() {
    if (!this.analyser || this.playing.size === 0) return 0;
    const data = this.analyserData;
    this.analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
    return Math.min(1, Math.sqrt(sum / data.length) * 5);
  }

  // ---- playback ----

  _setupPlayback() {
    if (this.outGain) return;
    this.outGain = this.ctx.createGain();
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 512;
    this.analyserData = new Float32Array(this.analyser.fftSize);
    this.outGain.connect(this.analyser);
    this.analyser.connect(this.ctx.destination);
    this.cursor = 0;
  }

  /** A binary frame from the server: PCM16 LE mono at outputRate. */
  onAudio(buffer) {
    if (!this.ctx || !this.outGain || this.state === "off") return;
    let bytes = new Uint8Array(buffer);
    if (this.carry !== null) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.carry;
      joined.set(bytes, 1);
      bytes = joined;
      this.carry = null;
    }
    if (bytes.length % 2 === 1) {
      this.carry = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const count = bytes.length / 2;
    if (count === 0) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const audio = this.ctx.createBuffer(1, count, this.outputRate);
    const out = audio.getChannelData(0);
    for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true) / 32768;

    const node = this.ctx.createBufferSource();
    node.buffer = audio;
    node.connect(this.outGain);
    const now = this.ctx.currentTime;
    if (this.cursor < now) this.cursor = now + RESTART_LEAD_S;
    node.start(this.cursor);
    this.cursor += audio.duration;
    this.playing.add(node);
    node.onended = () => {
      this.playing.delete(node);
      node.disconnect();
    };
  }

  /** audio.stop: drop everything scheduled, now. */
  stopAudio() {
    for (const node of this.playing) {
      try { node.stop(); } catch { /* not started */ }
      node.disconnect();
    }
    this.playing.clear();
    this.carry = null;
    this.cursor = 0;
  }

  _teardown() {
    clearTimeout(this.readyTimer);
    this.ready = false;
    this.stopAudio();
    if (this.worklet) {
      try { this.worklet.port.postMessage({ type: "stop" }); } catch { /* ignore */ }
      this.worklet.port.onmessage = null;
      this.worklet.disconnect();
      this.worklet = null;
    }
    if (this.source) { this.source.disconnect(); this.source = null; }
    if (this.sink) { this.sink.disconnect(); this.sink = null; }
    if (this.stream) {
      this.stream.getTracks().forEach((t) => t.stop());
      this.stream = null;
    }
    this.mic = 0;
    // Keep the AudioContext (re-created contexts need a fresh user gesture); suspend it.
    if (this.ctx && this.ctx.state === "running") this.ctx.suspend().catch(() => {});
  }
}
