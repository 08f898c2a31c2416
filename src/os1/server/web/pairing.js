// Pairing: the pairing screen, trading a code for a token (typed, or from a #pair=CODE
// link), and going back to it when this device is unpaired.

import { ApiError, api, checkToken, forgetToken, getToken, saveToken } from "./api.js";
import { $, showScreen } from "./dom.js";
import { session, socket, voice } from "./session.js";

let onPaired = () => {};
let retryTimer = 0;
let rateLimitedUntil = 0;

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

function normaliseCode(raw) {
  return String(raw || "").toUpperCase().replace(/[^0-9A-Z]/g, "");
}

function showPairError(message) {
  const box = $("pair-error");
  box.textContent = message || "";
  box.hidden = !message;
  $("pair-code").setAttribute("aria-invalid", message ? "true" : "false");
}

export function showPairing(notice = "") {
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
    saveToken(data.token);
    session.device = data.device || null;
    $("pair-code").value = "";
    onPaired();
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

/** Wire the pairing form; `paired` is called once this device holds a token. */
export function setupPairing(paired) {
  onPaired = paired;
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

/** The pairing code in the address (#pair=CODE), taken out of the address bar; or null. */
export function takeCodeFromLink() {
  const match = /(?:^#|&)pair=([^&]+)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, "", location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null; // a mangled link: ask for the code instead
  }
}

/** Whether this device's token is (as far as can be told) still good. */
async function tokenStillGood() {
  if (!getToken()) return false;
  try {
    const me = await checkToken();
    if (!me) {
      forgetToken();
      return false;
    }
    if (me.device) session.device = me.device;
    return true;
  } catch {
    return true; // OS1 could not say: keep the token, as any start with one does
  }
}

/**
 * Opened from a pairing link: a device that is already paired just opens the app and
 * leaves the code unspent; any other device pairs with it.
 */
export async function pairFromLink(code) {
  if (await tokenStillGood()) {
    onPaired();
    return;
  }
  showPairing();
  $("pair-code").value = normaliseCode(code).replace(/^(.{4})(.+)$/, "$1-$2");
  pair(code);
}

function unpaired(notice) {
  forgetToken();
  socket.stop();
  if (voice.active) voice.onEnded("unpaired");
  showPairing(notice);
}

/** The server no longer knows this device's token. */
export function disconnected() {
  if (!getToken()) return;
  unpaired("This device was disconnected from OS1. Pair it again.");
}

/** This device was unpaired from here (Settings → Forget this device). */
export function forgetThisDevice() {
  unpaired("This device is no longer paired. Pair it again to talk.");
}
