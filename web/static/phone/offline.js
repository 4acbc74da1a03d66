// Shared by the phone page and its service worker (sw.js), as a classic
// script both can load (the page by <script>, the worker by importScripts):
// the caches' names and where a carer's day list is kept for offline use.
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

  g.carehexOffline = { SHELL, DATA, visitsKey };
})(self);
