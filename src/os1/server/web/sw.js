// Service worker: keeps the app shell available offline. Never touches /api, /ws or /v1:
// those carry private data and must always come from the server.

const CACHE = "os1-shell-v3";
const SHELL = [
  "./",
  "index.html",
  "app.css",
  "app.js",
  "api.js",
  "composer.js",
  "conversation.js",
  "devices-view.js",
  "debug.js",
  "dom.js",
  "memory-view.js",
  "navigation.js",
  "pairing.js",
  "presence.js",
  "scroll.js",
  "session.js",
  "settings-view.js",
  "time.js",
  "transcript.js",
  "voice-controls.js",
  "socket.js",
  "voice.js",
  "mic-worklet.js",
  "manifest.webmanifest",
  "icon.svg",
  "icon-maskable.svg",
  "icon-192.png",
  "icon-512.png",
  "icon-maskable-512.png",
  "apple-touch-icon.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
      .catch(() => {}) // a missing icon must not stop the app from working
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("os1-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isPrivate(url) {
  return /^\/(api|ws|v1)(\/|$)/.test(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isPrivate(url)) return;
  if (request.headers.get("Authorization")) return;

  // Network first, so a new version of the app is picked up at once; the cache is
  // the fallback when OS1 cannot be reached.
  event.respondWith((async () => {
    try {
      const response = await fetch(request);
      if (response.ok && response.type === "basic") {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(request, copy)).catch(() => {});
      }
      return response;
    } catch (err) {
      const cached = await caches.match(request, { ignoreSearch: true });
      if (cached) return cached;
      if (request.mode === "navigate") {
        const shell = await caches.match("index.html");
        if (shell) return shell;
      }
      throw err;
    }
  })());
});
