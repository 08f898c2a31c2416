// The Memory page: what the companion remembers, searchable, and forgetting items.

import { api } from "./api.js";
import { $, confirmInline, el, toast } from "./dom.js";
import { session } from "./session.js";
import { parseTime, shortDate } from "./time.js";

const KIND_LABEL = { fact: "Fact", episode: "Moment", profile: "About you" };

export const memoryView = {
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
    else status.textContent = q ? `Nothing remembered about “${q}”.` : `${session.companion} hasn't noted any facts yet. They appear here as you talk.`;
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
