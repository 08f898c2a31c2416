// Keeping the conversation scrolled to the latest message, unless the person scrolled
// up to read; then the "jump to latest" button appears instead.

import { $ } from "./dom.js";

const scroller = () => $("scroller");
let stickToBottom = true;

function isAtBottom() {
  const s = scroller();
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

export function scrollToBottom() {
  const s = scroller();
  s.scrollTop = s.scrollHeight;
  stickToBottom = true;
  $("jump").hidden = true;
}

/** Follow new content if at the bottom (or `force`), else offer the jump button. */
export function afterContentChange(force = false) {
  if (force || stickToBottom) scrollToBottom();
  else $("jump").hidden = false;
}

/** Follow what comes next, wherever the view is now (after sending a message). */
export function followNext() {
  stickToBottom = true;
}

export function setupScroll() {
  scroller().addEventListener("scroll", () => {
    stickToBottom = isAtBottom();
    if (stickToBottom) $("jump").hidden = true;
  }, { passive: true });
  $("jump").addEventListener("click", () => scrollToBottom());
  // Keep the view pinned to the bottom when the keyboard or window resizes it.
  new ResizeObserver(() => { if (stickToBottom) scrollToBottom(); }).observe(scroller());
}
