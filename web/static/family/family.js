// The family page: sign in with the family link's 查询码 (its token) and follow the
// relative's requests, each with its status timeline, the care worker's name
// and estimated arrival. Changes arrive on the family stream (read with
// fetch, since EventSource cannot send the Authorization header); while the
// stream is down the page polls instead. Nothing reloads the page.

import { setup, t, lang } from "/i18n.js";
import { ApiError, call, describe, ERR_EN, stream, serviceName, tokenFromFragment, h, clock, statusLabel, STATUS_EN } from "/phone/mobileapi.js";
import { startUpcoming, stopUpcoming } from "./upcoming.js";

const EN = {
  ...STATUS_EN,
  ...ERR_EN,
  title: "Family view",
  upcomingTitle: "Planned visits, next 7 days",
  requestsTitle: "Services",
  signInTitle: "Sign in",
  signInHelp: "Enter the query code the service centre gave you.",
  tokenLabel: "Query code",
  hotline: "Questions? Call the elderly-care hotline",
  offlineNow: "No network: the page updates when it returns",
  connecting: "Connecting…",
  fam_unauthenticated: "This query code is wrong or has expired: ask the service centre for a new one",
  fam_forbidden: "This code is not a family query code",
  signIn: "Sign in",
  signOut: "Sign out",
  empty: "No services yet.",
  live: "Updating live",
  polling: "Reconnecting… refreshed every {s} seconds",
  worker: "Care worker: {n}",
  eta: "Arrives in about {m} min",
  etaSoon: "Arriving now",
  signedOut: "Signed out: ",
  ev_pending: "Request received",
  ev_requeued: "Waiting for another care worker",
  ev_offered: "Looking for a care worker",
  ev_assigned: "Care worker assigned",
  ev_en_route: "Set off",
  ev_in_progress: "Arrived, service started",
  ev_completed: "Service completed",
  ev_cancelled: "Cancelled",
  ev_unfilled: "Nobody free yet",
};

const EV_ZH = {
  pending: "已受理", offered: "正在联系服务人员", assigned: "已派服务人员", en_route: "服务人员已出发",
  in_progress: "已到达，开始服务", completed: "服务完成", cancelled: "已取消", unfilled: "暂无空闲人员",
};

const KEY = "carehex.family.token";
// While the stream is down the page polls, every POLL_MS and, while the
// polls fail too, less and less often (up to POLL_MAX_MS); a stream that
// reconnects within QUIET_MS (it is renewed every half hour) is not shown
// as down at all, so the line does not flicker.
const POLL_MS = 15000;
const POLL_MAX_MS = 120000;
const QUIET_MS = 5000;
const ETA_MS = 30000;
const STEPS = ["pending", "assigned", "en_route", "in_progress", "completed"];
const LIVE = new Set(["pending", "offered", "assigned", "en_route", "in_progress", "unfilled"]);

const $ = (id) => document.getElementById(id);
const en = () => lang() === "en";

const state = {
  token: "",
  items: new Map(), // request ID → the API's item
  live: false, // the stream is open
  downSince: 0, // when the stream went down (or the page began to open it)
  wasLive: false, // the stream has been open since sign-in
  pollEvery: POLL_MS,
  pollTimer: 0,
  abort: null,
  timers: [],
};

function showError(err, prefix = "") {
  const box = $("error");
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = prefix + familyError(err);
  box.hidden = false;
}

// familyError: the page calls its token the 查询码, and so do its errors.
const FAMILY_ERR_ZH = {
  unauthenticated: "查询码有误或已过期，请向服务中心索取新的查询码",
  forbidden: "这不是家属查询码",
};

function familyError(err) {
  const code = err instanceof ApiError ? err.code : "";
  if (FAMILY_ERR_ZH[code]) return t("fam_" + code, FAMILY_ERR_ZH[code]);
  return describe(err, false);
}

async function signIn(token) {
  token = token.trim();
  if (!token) return;
  const button = document.querySelector("[data-testid=sign-in]");
  button.disabled = true;
  showError("");
  let list;
  try {
    list = await call(token, "GET", "/m/v1/family/visits");
  } catch (err) {
    button.disabled = false;
    showError(err);
    return;
  }
  button.disabled = false;
  localStorage.setItem(KEY, token);
  start(token, list);
}

function start(token, list) {
  state.token = token;
  state.abort = new AbortController();
  state.downSince = Date.now();
  state.wasLive = false;
  setTimeout(renderLive, QUIET_MS + 100);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("family-token").value = "";
  if (list) replaceAll(list);
  else poll();
  streamLoop(state.abort.signal);
  state.timers.push(setInterval(refreshETAs, ETA_MS));
  startUpcoming(token);
  render();
}

function signOut(reason) {
  state.abort?.abort();
  state.timers.forEach(clearInterval);
  state.timers = [];
  clearTimeout(state.pollTimer);
  state.pollTimer = 0;
  state.token = "";
  state.items.clear();
  state.live = false;
  state.downSince = 0;
  localStorage.removeItem(KEY);
  stopUpcoming();
  $("app").hidden = true;
  $("signin").hidden = false;
  showError(reason || "", reason ? t("signedOut", "已退出：") : "");
  render();
}

function authFailed(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
    signOut(err);
    return true;
  }
  return false;
}

// replaceAll takes the answer of GET /m/v1/family/visits.
function replaceAll(list) {
  state.items.clear();
  for (const v of list.visits || []) state.items.set(v.request_id, v);
  if (list.hotline) {
    $("hotline").textContent = list.hotline;
    $("hotline").href = "tel:" + list.hotline;
  }
  render();
}

// poll asks once; schedulePoll keeps asking while the stream is down,
// backing off while the polls fail.
async function poll() {
  if (!state.token) return false;
  const token = state.token;
  try {
    const r = await call(token, "GET", "/m/v1/family/visits");
    if (token === state.token) replaceAll(r);
    return true;
  } catch (err) {
    authFailed(err);
    return false;
  }
}

function schedulePoll() {
  clearTimeout(state.pollTimer);
  if (!state.token || state.live) return;
  state.pollTimer = setTimeout(async () => {
    state.pollTimer = 0;
    if (state.live) return;
    const ok = await poll();
    state.pollEvery = ok ? POLL_MS : Math.min(POLL_MAX_MS, state.pollEvery * 2);
    renderLive();
    schedulePoll();
  }, state.pollEvery);
}

// refreshETAs asks again for the requests whose care worker is on the way:
// the stream only speaks when a request changes, not when the worker moves.
async function refreshETAs() {
  for (const v of [...state.items.values()].filter((v) => v.status === "en_route")) {
    try {
      const r = await call(state.token, "GET", `/m/v1/family/requests/${encodeURIComponent(v.request_id)}`);
      upsert(r.visit);
    } catch (err) {
      if (authFailed(err)) return;
    }
  }
}

function upsert(item) {
  if (!item || !item.request_id) return;
  state.items.set(item.request_id, item);
  render();
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const id = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(id);
      resolve();
    }, { once: true });
  });

async function streamLoop(signal) {
  let failures = 0;
  while (!signal.aborted) {
    try {
      const retry = await stream(state.token, "/m/v1/family/stream", (name, data) => {
        if (name === "visit") upsert(data);
      }, signal, () => {
        failures = 0;
        setLive(true);
      });
      setLive(false);
      await sleep(retry, signal);
    } catch (err) {
      if (signal.aborted || err.name === "AbortError") return;
      if (authFailed(err)) return;
      setLive(false);
      failures++;
      // Catch up once when the stream first fails; then the poll timer.
      if (failures === 1) poll();
      await sleep(Math.min(60000, 2000 * 2 ** Math.min(failures, 5)), signal);
    }
  }
}

function setLive(on) {
  if (on) {
    state.live = true;
    state.wasLive = true;
    state.downSince = 0;
    state.pollEvery = POLL_MS;
    clearTimeout(state.pollTimer);
    state.pollTimer = 0;
  } else {
    if (state.live || !state.downSince) state.downSince = Date.now();
    state.live = false;
    if (!state.pollTimer) schedulePoll();
    // Say so only if it stays down.
    setTimeout(renderLive, QUIET_MS + 100);
  }
  renderLive();
}

function renderLive() {
  const el = $("live");
  const quiet = Date.now() - state.downSince < QUIET_MS;
  let key = "polling";
  if (navigator.onLine === false) key = "offline";
  else if (state.live || (state.wasLive && quiet)) key = "live";
  else if (quiet) key = "connecting";
  el.dataset.state = key;
  if (key === "live") el.textContent = t("live", "实时更新中");
  else if (key === "connecting") el.textContent = t("connecting", "正在连接…");
  else if (key === "offline") el.textContent = t("offlineNow", "网络已断开，恢复后自动更新");
  else el.textContent = t("polling", "正在重新连接…每 {s} 秒刷新一次").replace("{s}", Math.round(state.pollEvery / 1000));
}

function eta(v) {
  if (v.status !== "en_route" || typeof v.eta_s !== "number") return null;
  const m = Math.round(v.eta_s / 60);
  if (m < 1) return t("etaSoon", "即将到达");
  return t("eta", "约 {m} 分钟后到达").replace("{m}", m);
}

function timeline(v) {
  const done = v.events || [];
  const items = done.map((e, i) =>
    h("li", { class: i === done.length - 1 ? "step current" : "step", "data-status": e.status },
      // Pending again after the first step: an offer was declined or expired.
      h("span", { class: "step-name", text: i > 0 && e.status === "pending" ? t("ev_requeued", "重新等待派单") : t("ev_" + e.status, EV_ZH[e.status] || e.status) }),
      h("time", { datetime: e.time, text: clock(e.time, en(), true) })));
  // The steps still to come, so a family sees how far along it is.
  if (LIVE.has(v.status)) {
    const at = Math.max(STEPS.indexOf(v.status), ...done.map((e) => STEPS.indexOf(e.status)));
    for (const s of STEPS.slice(at + 1)) {
      items.push(h("li", { class: "step todo", "data-status": s }, h("span", { class: "step-name", text: t("ev_" + s, EV_ZH[s]) })));
    }
  }
  return h("ol", { class: "timeline", "data-testid": "timeline" }, ...items);
}

function render() {
  renderLive();
  const list = [...state.items.values()].sort((a, b) => Date.parse(b.create_time) - Date.parse(a.create_time));
  $("empty").hidden = list.length > 0 || !state.token;
  $("visits").replaceChildren(...list.map((v) => {
    const card = h("li", { class: "card visit", "data-testid": "visit", "data-request-id": v.request_id, "data-status": v.status },
      h("h2", { text: serviceName(v.service_code, en()) }),
      h("p", { class: "status", "data-testid": "visit-status", "data-status": v.status, text: statusLabel(v.status) }));
    if (v.provider_name) card.append(h("p", { class: "worker", "data-testid": "provider", text: t("worker", "服务人员：{n}").replace("{n}", v.provider_name) }));
    const e = eta(v);
    if (e) card.append(h("p", { class: "eta", "data-testid": "eta", text: e }));
    card.append(timeline(v));
    return card;
  }));
}

setup({ en: EN });
document.addEventListener("langchange", render);
$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  signIn($("family-token").value);
});
$("sign-out").addEventListener("click", () => signOut());
$("error").addEventListener("click", () => showError(""));
window.addEventListener("online", () => {
  renderLive();
  if (state.token && !state.live) {
    state.pollEvery = POLL_MS;
    poll();
    schedulePoll();
  }
});
window.addEventListener("offline", renderLive);

// A link with #token= signs in, also when opened on the page already showing.
function fromFragment() {
  const token = tokenFromFragment();
  if (!token || token === state.token) return false;
  if (state.token) signOut();
  $("signin").hidden = false;
  $("family-token").value = token;
  signIn(token);
  return true;
}
window.addEventListener("hashchange", fromFragment);

if (!fromFragment()) {
  const stored = localStorage.getItem(KEY) || "";
  if (stored) start(stored);
  else $("signin").hidden = false;
}
