// Shared by the phone page and its service worker (sw.js), as a classic
// script both can load (the page by <script>, the worker by importScripts):
// the caches' names, and the carer's day list kept for offline use (the
// page saves each good answer and reads it back when offline).
// Bump a cache's version when what it holds changes shape; sw.js deletes
// every other carehex-phone-* cache when it activates.
(function (g) {
  const SHELL = "carehex-phone-shell-v1"; // the app's files
  const DATA = "carehex-phone-data-v1"; // each carer's last day list

  // visitsKey is the cache key of the day list fetched with token: a hash,
  // so another carer signing in on the same phone never reads it, and the
  // token itself is not written to the cache.
  async function visitsKey(token) {
    const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
    const hex = Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
    return "/phone/offline/visits/" + hex;
  }

  // saveVisits keeps body, the answer of GET /m/v1/visits for token.
  async function saveVisits(token, body) {
    const res = new Response(JSON.stringify(body), {
      headers: { "Content-Type": "application/json", "X-Carehex-Saved": new Date().toISOString() },
    });
    await (await caches.open(DATA)).put(await visitsKey(token), res);
  }

  // savedVisits is {body, savedAt} of the list kept for token, or null.
  async function savedVisits(token) {
    const res = await (await caches.open(DATA)).match(await visitsKey(token));
    if (!res) return null;
    return { body: await res.json(), savedAt: res.headers.get("X-Carehex-Saved") || "" };
  }

  // forgetVisits drops the list kept for token (signing out).
  async function forgetVisits(token) {
    await (await caches.open(DATA)).delete(await visitsKey(token));
  }

  g.carehexOffline = { SHELL, DATA, visitsKey, saveVisits, savedVisits, forgetVisits };
})(self);
