// The Settings page's settings: voice and companion options, each saved as it changes.

import { api } from "./api.js";
import { $, el } from "./dom.js";

const SETTING_LABELS = {
  "voice.voice": ["Voice", "How your companion sounds."],
  "voice.rate": ["Speaking rate", ""],
  "voice.pitch": ["Pitch", "In semitones."],
  "voice.mood_prosody": ["Mood in the voice", "Let the companion's mood colour how it speaks."],
  "voice.barge_in": ["Talk over it", "Stop speaking when you start talking."],
  model: ["Model", "The language model your companion thinks with: embedded, gguf:/path/to/model.gguf, openai:NAME or fake."],
  "voice.stt_model": ["Speech recognition", "tiny.en is fastest; base understands a little more."],
  "skills.enabled": ["Act on requests", "Set reminders and calendar events when you ask; off = only talk."],
  "skills.reminders_in_chat": ["Say reminders when due", "Reminders appear in the conversation on every device."],
  "skills.briefing_at": ["Morning briefing", "When to tell you what today holds, such as 07:30; empty = none."],
  "skills.follow_ups": ["Follow-ups", "Ask how a plan you mentioned went, once, afterwards."],
  "skills.quiet_hours": ["Quiet hours", "When follow-ups wait, such as 22:00-08:00; reminders you set still come."],
  "calendar.allow_writes": ["Send calendar changes without asking", "Off: OS1 asks before it changes your CalDAV calendar."],
};
const VOICE_KEYS = ["voice.voice", "voice.rate", "voice.pitch", "voice.mood_prosody", "voice.barge_in", "voice.stt_model"];
const COMPANION_KEYS = ["model"];
const RANGES = { "voice.rate": [0.5, 2, 0.05], "voice.pitch": [-6, 6, 0.5] };

export const settingsView = {
  values: {},
  options: {},

  open() {
    this.loadSettings();
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
};
