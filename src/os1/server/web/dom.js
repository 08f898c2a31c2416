// DOM helpers shared by every view: element lookup and building, icons, toasts, the
// screen-reader live region, inline confirmations and which screen is showing.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
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

export function svgIcon(paths, cls = "icon") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  svg.innerHTML = paths; // static, trusted markup only
  return svg;
}

export const ICONS = {
  voice: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21"/>',
  terminal: '<rect x="3" y="4.5" width="18" height="15" rx="3"/><path d="m7.5 10 3 2.5-3 2.5M12.5 15.5h4"/>',
  api: '<path d="m8.5 7.5-5 4.5 5 4.5M15.5 7.5l5 4.5-5 4.5"/>',
  phone: '<rect x="6.5" y="2.5" width="11" height="19" rx="2.5"/><path d="M10.5 18.5h3"/>',
  laptop: '<rect x="4.5" y="5" width="15" height="10.5" rx="1.5"/><path d="M2.5 19h19"/>',
};

export function toast(message, { kind = "info", timeout = 5000 } = {}) {
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

/** Say `text` to screen readers through the polite live region. */
export function announce(text) {
  const region = $("live-region");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 30);
}

/** Replace `actions`' contents with "question [cancel] [confirm]" until one is chosen. */
export function confirmInline(actions, { question, confirmLabel, testid }) {
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

/** Show one of the top-level screens: "pair" or "app" (the boot screen goes away). */
export function showScreen(name) {
  $("boot").hidden = true;
  $("pair-screen").hidden = name !== "pair";
  $("app").hidden = name !== "app";
}
