// Switching between the app's views (Talk, Memory, Settings) with the tabs.

import { devicesView } from "./devices-view.js";
import { $ } from "./dom.js";
import { memoryView } from "./memory-view.js";
import { scrollToBottom } from "./scroll.js";
import { settingsView } from "./settings-view.js";

const VIEWS = ["chat", "memory", "settings"];

export function setView(view) {
  if (!VIEWS.includes(view)) view = "chat";
  $("app").dataset.view = view;
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (view === "memory") memoryView.open();
  if (view === "settings") {
    settingsView.open();
    devicesView.open();
  }
  if (view === "chat") requestAnimationFrame(() => scrollToBottom());
}

export function setupNavigation() {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => setView(tab.dataset.view));
  }
}
