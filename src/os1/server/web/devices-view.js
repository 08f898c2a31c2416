// The Settings page's paired devices: the list, revoking other devices, and forgetting
// this one.

import { api } from "./api.js";
import { $, ICONS, confirmInline, el, svgIcon, toast } from "./dom.js";
import { forgetThisDevice } from "./pairing.js";
import { session } from "./session.js";
import { parseTime, relativeTime, shortDate } from "./time.js";

export const devicesView = {
  open() {
    this.load();
  },

  setup() {
    const button = $("forget-this-device");
    button.addEventListener("click", async () => {
      const yes = await confirmInline($("forget-actions"), { question: "Unpair this device?", confirmLabel: "Forget", testid: "forget-this-device" });
      if (!yes) { $("forget-this-device").focus(); return; }
      const id = session.device && session.device.id;
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

  async load() {
    const status = $("devices-status");
    status.dataset.kind = "";
    try {
      const data = await api("/api/devices");
      this.render(data.devices || []);
      status.textContent = "";
    } catch (err) {
      if (err.status === 401) return;
      status.dataset.kind = "error";
      status.textContent = err.message || "Devices could not be loaded.";
    }
  },

  render(devices) {
    const list = $("device-list");
    const current = devices.find((d) => d.current);
    if (current) session.device = { ...(session.device || {}), id: current.id, name: current.name };
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
