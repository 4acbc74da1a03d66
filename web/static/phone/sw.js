// The phone app's service worker: the app opens with no network (a carer
// reopening the browser in a basement). The day list the server last sent
// is kept beside the app's files in Cache Storage by the page itself
// (offline.js), which shows it, marked as such, only when a call fails.
//
// Rules: the app's files are fetched from the network first and the copy
// refreshed on every load, so an online phone never runs an old build and
// the cache only answers when the network fails. API calls never pass
// through this worker (no stale API answer can come from it, and a call
// fails exactly as it would without it); the offer stream neither.
importScripts("/phone/offline.js");
const { SHELL, DATA } = self.carehexOffline;

const FILES = [
  "/phone/",
  "/phone/phone.js",
  "/phone/mobileapi.js",
  "/phone/queue.js",
  "/phone/services.js",
  "/phone/navlinks.js",
  "/phone/photos.js",
  "/phone/planned.js",
  "/phone/card.js",
  "/phone/offline.js",
  "/phone/phone.css",
  "/phone/manifest.json",
  "/phone/icon-192.png",
  "/phone/icon-512.png",
  "/base.css",
  "/i18n.js",
  "/messages.js",
];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("carehex-phone-") && k !== SHELL && k !== DATA).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (FILES.includes(url.pathname)) e.respondWith(shell(req, url.pathname));
});

// shell: the network's answer (kept), else the kept copy.
async function shell(req, path) {
  const cache = await caches.open(SHELL);
  try {
    const res = await fetch(req);
    if (res.ok) await cache.put(path, res.clone());
    return res;
  } catch (err) {
    const kept = await cache.match(path);
    if (kept) return kept;
    throw err;
  }
}
