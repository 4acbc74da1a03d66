// The care provider's phone app: sign in with the device token, go
// available (the phone's position feeds the heartbeat), answer offers before
// they expire, and work the accepted visit: depart, arrive, complete. Visit
// events are queued in localStorage first and sent in order (queue.js), so a
// dead zone loses nothing; the server dedupes by event_id, so a resend is safe.

import { lang, reasonText, setup, t } from "/i18n.js";
import { ApiError, call, describe, ERR_EN, stream, serviceName, tokenFromFragment, h, clock, serverNow, STATUS_EN } from "/phone/mobileapi.js";
import { EventQueue } from "/phone/queue.js";
import { mapLinks, supportsGeoURI } from "/phone/navlinks.js";
import { photoBox } from "/phone/photos.js";
import { mountPlanned, PLANNED_EN } from "/phone/planned.js";
import { CARD_EN, flushCards, scanCard } from "/phone/card.js";

const EN = {
  ...STATUS_EN,
  ...ERR_EN,
  ...PLANNED_EN,
  ...CARD_EN,
  title: "Care worker",
  signOut: "Sign out",
  signInTitle: "Sign in",
  tokenLabel: "Device token (issued by the dispatch centre)",
  signIn: "Sign in",
  scan: "Scan QR code",
  pending: "Waiting to send",
  today: "Today's visits",
  goAvailable: "Start taking jobs",
  goOff: "Stop taking jobs",
  av_off: "Off duty",
  av_locating: "Finding your position…",
  av_available: "Available: waiting for jobs",
  av_offered: "A job is being offered to you",
  av_busy: "On a job",
  av_offline: "Off duty",
  av_nonet: "No network: your position will be sent when it returns",
  av_noloc: "Location is off: allow location to take jobs",
  position: "Position ±{a} m, {t}",
  newOffer: "New job",
  distance: "Distance {d}",
  left: "{s} left",
  expired: "Expired",
  accept: "Accept",
  decline: "Decline",
  job: "Current job",
  noAddress: "The address is no longer shown for this visit.",
  planned: "Planned {a}–{b}",
  checklist: "Tasks",
  checklistNote: "The dispatch centre sends no task list; the service ordered is the task.",
  depart: "Set off",
  arrive: "Arrived",
  complete: "Finish",
  noShow: "Nobody home",
  photoBefore: "Photo before the service", photoAfter: "Photo after the service", photoSending: "Uploading the photo…",
  photoSaved: "Photo saved (another one adds, never replaces)", photoRequired: "The contract requires photos",
  dismiss: "Close",
  ph_assigned: "Not yet set off",
  ph_en_route: "On the way",
  ph_in_progress: "In progress",
  ph_completed: "Completed",
  ph_cancelled: "Cancelled",
  withdrawn: "The hotline cancelled this job. Reason: {r}",
  cr_caller_cancelled: "the caller cancelled",
  cr_duplicate: "logged twice",
  cr_resolved_by_phone: "settled on the phone",
  cr_hospitalised: "the elder is in hospital",
  cr_other: "other",
  ev_depart: "Set off",
  ev_arrive: "Arrived",
  ev_complete: "Finished",
  ev_no_show: "Nobody home",
  tries: "tried {n}×",
  pendingNone: "Everything has been sent.",
  pendingNote: "Sent in order as soon as the network returns.",
  retryNow: "Send now",
  rejected: "The server refused the {e} report: ",
  exc_arrival_outside_geofence: "Recorded, but not at the home's address: the centre will check.",
  exc_checkout_far_from_home: "Recorded, but far from the home: the centre will check.",
  exc_short_visit: "Recorded as shorter than the service's usual time.",
  noPosition: "Cannot get your position: ",
  geoUnsupported: "This phone gives no position to the browser.",
  signedOut: "Signed out: ",
  work: "Work on this",
  scanFailed: "The camera could not read a code: ",
  urg_emergency: "Emergency",
  urg_soon: "As soon as possible",
  urg_scheduled: "Booked",
  window: "Time {a}–{b}",
  declineWhy: "Why are you declining?",
  back: "Back",
  call: "Call {p}",
  nav_amap: "Navigate (Amap)",
  nav_baidu: "Navigate (Baidu Maps)",
  nav_geo: "Other map app",
  opNotes: "Dispatch notes",
  careNotes: "About the elder",
  recorded: "Recorded",
  evTimes: "{e}: tapped {d}, reached the server {r}",
  evQueued: "{e}: tapped {d}, not sent yet",
  offlineCopy: "No network: showing the jobs as last loaded at {t}.",
};

const KEY = {
  token: "carehex.phone.token",
  available: "carehex.phone.available",
  job: "carehex.phone.job",
  queue: "carehex.phone.queue",
};

const HEARTBEAT_MS = 5000;
const VISITS_MS = 20000; // an operator may assign a visit by hand, with no offer
const OFFERS_CHECK_MS = 15000;
const RANK = { assigned: 0, en_route: 1, in_progress: 2, completed: 3, cancelled: 3 };
const LIVE = new Set(["assigned", "en_route", "in_progress"]);
const NEXT = { assigned: "depart", en_route: "arrive", in_progress: "complete" };
const STEP_BUTTONS = [{ "data-testid": "depart" }, { "data-testid": "arrive" }, { "data-testid": "complete" }];
const STEP_ZH = { depart: "出发", arrive: "到达", complete: "完成服务" };
const TARGET = { depart: "en_route", arrive: "in_progress", complete: "completed", no_show: "cancelled" };

const $ = (id) => document.getElementById(id);
const en = () => lang() === "en";
const fmt = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : ""));

const state = {
  token: "",
  available: false, // what the provider asked for
  watchID: null,
  pos: null, // {lat, lng, accuracy_m, at}
  posError: "",
  hbStatus: "", // what the last heartbeat answered
  hbNet: true,
  offers: new Map(), // offer ID → offer
  streamLive: false, // the offer stream is open: its events replace checkOffers
  job: null, // the visit being worked: the API's visit with a local status
  visits: [], // today's, from GET /m/v1/visits
  savedAt: "", // set when visits is the service worker's copy from then
  abort: null, // ends the session's streams and loops
  timers: [],
};

// ---- errors ---------------------------------------------------------------

// showError puts err (an ApiError, Error or string) in the banner at the
// top until the next action or a tap; a notice is a warning, not a failure.
function showError(err, prefix = "", notice = false) {
  const box = $("error");
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = prefix + describe(err);
  box.dataset.kind = notice ? "notice" : "error";
  box.hidden = false;
}

// ---- storage --------------------------------------------------------------

function loadJSON(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key));
    return v ?? fallback;
  } catch {
    return fallback;
  }
}

function saveJob() {
  if (state.job) localStorage.setItem(KEY.job, JSON.stringify(state.job));
  else localStorage.removeItem(KEY.job);
}

// events is the offline queue of visit events; the callbacks below are what
// the page does with its answers.
const events = new EventQueue({
  storage: localStorage,
  key: KEY.queue,
  send: (ev) => call(ev.token, "POST", `/m/v1/visits/${encodeURIComponent(ev.visit_id)}/events`, ev.body),
  retryable: (err) => err instanceof ApiError && (err.retryable || err.status === 401),
  onSent: (ev, r) => sent(ev, r),
  onRetry: (err, ev) => {
    if (err.status === 401 && ev.token === state.token) signOut(err);
  },
  // Refused for good (the visit was cancelled, a bad clock): say why, and
  // ask the server.
  onRejected: (err, ev) => {
    showError(err, fmt(t("rejected", "服务器拒绝了“{e}”记录："), { e: eventName(ev.body.type) }));
    if (state.job && state.job.id === ev.visit_id && !events.waiting(ev.visit_id)) refreshVisits();
  },
  onChange: () => renderPending(),
});
const queue = () => events.items();
const flushQueue = () => events.flush();

// ---- sign in and out ------------------------------------------------------

async function signIn(token) {
  token = token.trim();
  if (!token) return;
  const button = document.querySelector("[data-testid=sign-in]");
  button.disabled = true;
  showError("");
  try {
    await call(token, "GET", "/m/v1/visits");
  } catch (err) {
    // Offline: take the token on trust; the first call that reaches the
    // server checks it.
    if (!(err instanceof ApiError) || !err.retryable) {
      button.disabled = false;
      showError(err);
      return;
    }
  }
  button.disabled = false;
  if (token !== localStorage.getItem(KEY.token)) {
    // Another provider's phone state must not carry over.
    localStorage.removeItem(KEY.job);
    localStorage.removeItem(KEY.available);
  }
  localStorage.setItem(KEY.token, token);
  start(token);
}

function start(token) {
  state.token = token;
  state.abort = new AbortController();
  state.job = loadJSON(KEY.job, null);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("device-token").value = "";
  render();
  refreshVisits();
  mountPlanned(token, refreshVisits);
  offersLoop(state.abort.signal);
  every(VISITS_MS, refreshVisits);
  every(OFFERS_CHECK_MS, checkOffers);
  every(HEARTBEAT_MS, heartbeat);
  if (localStorage.getItem(KEY.available) === "1") setAvailable(true);
  else syncWatch();
  flushQueue();
}

function every(ms, fn) {
  state.timers.push(setInterval(fn, ms));
}

async function signOut(reason) {
  if (state.available && state.pos && state.token) {
    // Best effort: tell dispatch before forgetting the token.
    call(state.token, "POST", "/m/v1/heartbeat", hbBody(false)).catch(() => {});
  }
  forgetSavedVisits(state.token);
  state.abort?.abort();
  state.timers.forEach(clearInterval);
  state.timers = [];
  stopWatch();
  Object.assign(state, { token: "", available: false, hbStatus: "", job: null, visits: [], pos: null });
  state.offers.clear();
  // Queued events keep the token they were made with and are still sent.
  for (const k of [KEY.token, KEY.available, KEY.job]) localStorage.removeItem(k);
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("signin").hidden = false;
  showError(reason || "", reason ? t("signedOut", "已退出：") : "");
  render();
}

// A token refused by the server ends the session.
function authFailed(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
    signOut(err);
    return true;
  }
  return false;
}

// ---- position and heartbeat -----------------------------------------------

function setAvailable(on) {
  state.available = on;
  localStorage.setItem(KEY.available, on ? "1" : "0");
  if (!on) {
    // Say so at once, with the last position (the API needs one).
    if (state.pos) sendHeartbeat(false);
    state.hbStatus = "";
  }
  syncWatch();
  if (on) heartbeat();
  render();
}

// The position is watched while the provider is available or on a job
// (the family's estimated arrival comes from it).
function syncWatch() {
  const want = state.available || (state.job && LIVE.has(state.job.status));
  if (want && state.watchID === null) {
    if (!("geolocation" in navigator)) {
      state.posError = t("geoUnsupported", "此手机不向浏览器提供位置。");
      render();
      return;
    }
    state.watchID = navigator.geolocation.watchPosition(onPosition, onPositionError, {
      enableHighAccuracy: true,
      maximumAge: 10000,
    });
  } else if (!want) {
    stopWatch();
  }
}

function stopWatch() {
  if (state.watchID !== null) navigator.geolocation.clearWatch(state.watchID);
  state.watchID = null;
}

function onPosition(p) {
  const first = !state.pos;
  state.pos = { lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: Math.min(p.coords.accuracy || 0, 100000), at: Date.now() };
  state.posError = "";
  if (first) heartbeat();
  render();
}

function onPositionError(err) {
  state.posError = err.message || String(err.code);
  render();
}

function hbBody(available) {
  const p = state.pos;
  return { lat: round(p.lat, 6), lng: round(p.lng, 6), accuracy_m: Math.round(p.accuracy_m), available };
}

const round = (x, n) => Math.round(x * 10 ** n) / 10 ** n;

function heartbeat() {
  if (!state.token || !state.pos) return;
  if (!state.available && !(state.job && LIVE.has(state.job.status))) return;
  sendHeartbeat(state.available);
}

let lastBusyCheck = 0;

async function sendHeartbeat(available) {
  const token = state.token;
  try {
    const r = await call(token, "POST", "/m/v1/heartbeat", hbBody(available));
    if (token !== state.token) return;
    state.hbStatus = r.status;
    state.hbNet = true;
    // Busy with no live job here: a visit was assigned without an offer.
    if (r.status === "busy" && !(state.job && LIVE.has(state.job.status)) && Date.now() - lastBusyCheck > 10000) {
      lastBusyCheck = Date.now();
      refreshVisits();
    }
  } catch (err) {
    if (authFailed(err)) return;
    if (err.retryable) state.hbNet = false;
    else showError(err);
  }
  renderStatus();
}

// currentPosition is the watched position (a watch reports only changes,
// so its last fix is current however old), else a new fix, else the last
// one known: a report with an old position (the server judges it against
// the home) is better than none.
function currentPosition() {
  if (state.pos && ((state.watchID !== null && !state.posError) || Date.now() - state.pos.at < 60000)) return Promise.resolve(state.pos);
  return new Promise((resolve, reject) => {
    if (!("geolocation" in navigator)) {
      reject(new Error(t("geoUnsupported", "此手机不向浏览器提供位置。")));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) => {
        onPosition(p);
        resolve(state.pos);
      },
      (err) => (state.pos ? resolve(state.pos) : reject(new Error(err.message || String(err.code)))),
      { enableHighAccuracy: true, maximumAge: 30000, timeout: 15000 },
    );
  });
}

// ---- offers ---------------------------------------------------------------

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const id = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(id);
      resolve();
    }, { once: true });
  });

// offersLoop follows the offer stream, reconnecting after drops; when the
// stream keeps failing but a plain long poll works (a proxy that buffers),
// it long-polls instead.
async function offersLoop(signal) {
  let failures = 0;
  let poll = false;
  while (!signal.aborted) {
    try {
      if (poll) {
        const r = await call(state.token, "GET", "/m/v1/offers?wait=55", undefined, signal);
        r.offers.forEach(addOffer);
        failures = 0;
        continue;
      }
      const retry = await stream(state.token, "/m/v1/offers/stream", (name, data) => {
        if (name === "offer") addOffer(data);
        else if (name === "closed" && data && state.offers.delete(data.id)) renderOffers();
      }, signal, () => {
        state.streamLive = true;
        state.hbNet = true;
        renderStatus();
      });
      state.streamLive = false;
      renderStatus();
      failures = 0;
      await sleep(retry, signal);
    } catch (err) {
      state.streamLive = false;
      if (signal.aborted || err.name === "AbortError") return;
      if (err.retryable) state.hbNet = false;
      renderStatus();
      if (authFailed(err)) return;
      failures++;
      if (!poll && failures >= 3 && err.status !== 0) poll = true;
      await sleep(Math.min(30000, 1000 * 2 ** Math.min(failures, 5)), signal);
    }
  }
}

function addOffer(o) {
  if (!o || !o.id || state.offers.has(o.id)) return;
  if (Date.parse(o.expires_at) <= serverNow()) return;
  state.offers.set(o.id, o);
  renderOffers();
}

// checkOffers drops offers the server no longer holds open (taken by
// someone else, withdrawn). While the stream is open its "closed" events do
// that; this timer is the fallback for a long-polling phone.
async function checkOffers() {
  if (!state.offers.size || state.streamLive) return;
  try {
    const r = await call(state.token, "GET", "/m/v1/offers?wait=0");
    const open = new Set(r.offers.map((o) => o.id));
    let changed = false;
    for (const id of state.offers.keys()) {
      if (!open.has(id)) {
        state.offers.delete(id);
        changed = true;
      }
    }
    r.offers.forEach(addOffer);
    if (changed) renderOffers();
  } catch (err) {
    authFailed(err);
  }
}

async function answerOffer(id, accept, card, reasonCode) {
  for (const b of card.querySelectorAll("button")) b.disabled = true;
  showError("");
  try {
    if (accept) {
      const r = await call(state.token, "POST", `/m/v1/offers/${encodeURIComponent(id)}/accept`);
      setJob(r.visit);
      refreshVisits();
    } else {
      await call(state.token, "POST", `/m/v1/offers/${encodeURIComponent(id)}/decline`, { reason_code: reasonCode || "other" });
    }
    state.offers.delete(id);
  } catch (err) {
    if (authFailed(err)) return;
    showError(err);
    if (!err.retryable) state.offers.delete(id); // gone: expired, withdrawn
  }
  renderOffers();
}

// ---- the job --------------------------------------------------------------

function setJob(v) {
  const old = state.job && state.job.id === v.id ? state.job : null;
  state.job = { ...v, checked: old ? old.checked : [], cards: old ? old.cards : [] };
  if (old) state.job.status = mergeStatus(old.status, v.status, v.id);
  saveJob();
  syncWatch();
  render();
}

// mergeStatus: while events of the visit wait in the queue, the phone is
// ahead of the server; otherwise the server is right.
function mergeStatus(local, server, visitID) {
  const waiting = queue().some((e) => e.visit_id === visitID);
  if (waiting && RANK[local] > RANK[server] && RANK[server] < 3) return local;
  return server;
}

async function refreshVisits() {
  if (!state.token) return;
  const token = state.token;
  let r;
  try {
    r = await call(token, "GET", "/m/v1/visits");
    state.savedAt = "";
    keepVisits(token, r);
  } catch (err) {
    if (authFailed(err)) return;
    // No network: the list the service worker kept, shown as such, when
    // the page has none yet (a reopen in a dead zone).
    if (!err.retryable || state.visits.length) return;
    r = await savedVisits(token);
    if (!r || token !== state.token) return;
  }
  if (token !== state.token) return;
  state.visits = r.visits || [];
  const job = state.job;
  const fresh = job && state.visits.find((v) => v.id === job.id);
  if (fresh) setJob(fresh);
  const waiting = job && queue().some((e) => e.visit_id === job.id);
  if (job && !waiting && (!fresh || !LIVE.has(state.job.status))) {
    // Gone from the server's list, or finished: the next live visit (say,
    // one an operator assigned by hand) takes its place when there is one.
    const next = nextLive();
    if (next && next.id !== job.id) {
      setJob(next);
      return;
    }
    if (!fresh && LIVE.has(job.status)) state.job = null;
  }
  if (fresh) return;
  if (!state.job) {
    const next = nextLive();
    if (next) {
      setJob(next);
      return;
    }
  }
  saveJob();
  syncWatch();
  render();
}

// The day list is kept in Cache Storage (offline.js) from each good answer,
// and read back when the page opens with no network. Where the browser has
// no Cache Storage (plain http away from localhost) the page works online.
const offline = () => ("caches" in globalThis && globalThis.carehexOffline) || null;

function keepVisits(token, body) {
  offline()?.saveVisits(token, body).catch(() => {}); // storage full or refused: online still works
}

async function savedVisits(token) {
  try {
    const kept = await offline()?.savedVisits(token);
    if (!kept) return null;
    state.savedAt = kept.savedAt;
    return kept.body;
  } catch {
    return null;
  }
}

function forgetSavedVisits(token) {
  if (token) offline()?.forgetVisits(token).catch(() => {});
}

// nextLive is the live visit due first.
function nextLive() {
  return state.visits
    .filter((v) => LIVE.has(v.status))
    .sort((a, b) => Date.parse(a.planned_start) - Date.parse(b.planned_start))[0];
}

function newEventID() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return "ev_" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function report(type) {
  let job = state.job;
  if (!job) return;
  showError("");
  // The contract asks for the elder's card at arrival and at the end
  // (card.js): the event waits for the server to accept it.
  if (job.card_required && (type === "arrive" || type === "complete") && !(job.cards || []).includes(type)) {
    if ($("card-box").childElementCount) return; // already open
    const ok = await scanCard($("card-box"), { token: state.token, visitId: job.id, stage: type });
    if (!ok || !state.job || state.job.id !== job.id) return;
    job = state.job;
    job.cards = [...(job.cards || []), type];
    saveJob();
  }
  const buttons = document.querySelectorAll("#job-box .steps button");
  buttons.forEach((b) => (b.disabled = true));
  let pos;
  try {
    pos = await currentPosition();
  } catch (err) {
    showError(err, t("noPosition", "无法获取位置："));
    renderJob();
    return;
  }
  // A refresh may have replaced the job object meanwhile; the tap was for
  // this visit, so carry on with the current object if it is the same one.
  if (!state.job || state.job.id !== job.id) return;
  job = state.job;
  events.add({
    token: state.token,
    visit_id: job.id,
    tries: 0,
    error: "",
    body: {
      event_id: newEventID(),
      type,
      lat: round(pos.lat, 6),
      lng: round(pos.lng, 6),
      accuracy_m: Math.round(pos.accuracy_m),
      device_time: new Date().toISOString(),
    },
  });
  job.status = TARGET[type];
  saveJob();
  syncWatch();
  render();
  flushQueue();
}

// ---- the queue's answers -------------------------------------------------

function sent(ev, r) {
  if (state.job && r.event && state.job.id === ev.visit_id) {
    const list = (state.job.events || []).filter((e) => e.event_id !== r.event.event_id);
    state.job.events = [...list, r.event];
    saveJob();
    renderJob();
  }
  const exc = (r.event && r.event.exceptions) || [];
  if (exc.length) showError(exc.map((k) => t("exc_" + k, excZH[k] || k)).join(" "), "", true);
  if (state.job && r.visit && state.job.id === r.visit.id) {
    const status = mergeStatus(state.job.status, r.visit.status, r.visit.id);
    if (status !== state.job.status) {
      state.job.status = status;
      saveJob();
      syncWatch();
      renderJob();
    }
  }
}

const excZH = {
  arrival_outside_geofence: "已记录，但位置不在服务地址附近，调度中心会核实。",
  checkout_far_from_home: "已记录，但结束时离服务地址较远，调度中心会核实。",
  short_visit: "已记录，服务时长短于该项目的通常时长。",
};

// ---- rendering ------------------------------------------------------------

function render() {
  renderStatus();
  renderOffers();
  renderJob();
  renderPending();
  renderToday();
}

// statusKey says where the carer stands from what the page knows now: the
// network (the browser's online flag, the last call, the offer stream), a
// live job, open offers; the last heartbeat's answer only fills in what the
// page cannot know (busy with a visit assigned by hand, not yet loaded).
function statusKey() {
  const live = state.job && LIVE.has(state.job.status);
  if (!state.available && !live) return "off";
  if (state.posError && !state.pos) return "noloc";
  if (!netUp()) return "nonet";
  if (!state.pos) return "locating";
  if (live) return "busy";
  if (state.offers.size) return "offered";
  if (state.hbStatus === "busy") return "busy";
  return "available";
}

// netUp: the browser says it is online and the last call or the offer
// stream got through.
function netUp() {
  return navigator.onLine !== false && (state.hbNet || state.streamLive);
}

function renderStatus() {
  const b = $("go-available");
  b.textContent = state.available ? t("goOff", "停止接单") : t("goAvailable", "开始接单");
  b.setAttribute("aria-pressed", String(state.available));
  b.classList.toggle("on", state.available);
  const key = statusKey();
  const zh = {
    off: "休息中", locating: "正在定位…", available: "空闲，等待派单", offered: "有新订单",
    busy: "服务中", offline: "休息中", nonet: "网络中断，恢复后上报位置", noloc: "定位未开启：请允许获取位置才能接单",
  };
  const a = $("availability");
  a.dataset.state = key;
  a.textContent = t("av_" + key, zh[key] || key);
  const p = $("position");
  if (state.pos) {
    p.textContent = fmt(t("position", "定位 ±{a} 米，{t}"), {
      a: Math.round(state.pos.accuracy_m),
      t: new Date(state.pos.at).toLocaleTimeString(en() ? "en-GB" : "zh-CN"),
    });
  } else p.textContent = state.posError;
}

function distance(m) {
  if (m >= 1000) return (m / 1000).toFixed(1) + (en() ? " km" : " 公里");
  return Math.round(m) + (en() ? " m" : " 米");
}

function renderOffers() {
  const box = $("offers");
  const cards = [...state.offers.values()].sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at)).map((o) => {
    const card = h("article", { class: "card offer", "data-testid": "offer", "data-offer-id": o.id, "data-urgency": o.urgency || "" },
      h("header", { class: "job-head" },
        h("h2", { text: t("newOffer", "新订单") }),
        o.urgency ? h("span", { class: "urgency", "data-testid": "offer-urgency", "data-urgency": o.urgency, text: urgencyName(o.urgency) }) : null),
      h("p", { class: "service", text: serviceName(o.service_code, en()) }),
      o.window_start ? h("p", { class: "window", "data-testid": "offer-window", text: windowText(o.window_start, o.window_end) }) : null,
      h("p", { class: "distance", "data-testid": "offer-distance", text: fmt(t("distance", "距离 {d}"), { d: distance(o.distance_m) }) }),
      h("p", { class: "countdown", "data-testid": "countdown", "data-expires": o.expires_at }),
    );
    const decline = h("button", { type: "button", class: "secondary", "data-testid": "decline", text: t("decline", "拒绝") });
    const accept = h("button", { type: "button", class: "primary", "data-testid": "accept", text: t("accept", "接单") });
    const actions = h("div", { class: "actions" }, decline, accept);
    decline.addEventListener("click", () => actions.replaceWith(declineReasons(o.id, card, actions)));
    accept.addEventListener("click", () => answerOffer(o.id, true, card));
    card.append(actions);
    return card;
  });
  box.replaceChildren(...cards);
  tick();
  renderStatus();
}

const URGENCY_ZH = { emergency: "紧急", soon: "尽快", scheduled: "预约" };
const urgencyName = (u) => t("urg_" + u, URGENCY_ZH[u] || u);

// windowText is a booked time window, with the date when it is not today.
function windowText(a, b) {
  return fmt(t("window", "时段 {a}–{b}"), { a: clock(a, en()), b: clock(b, en()) });
}

// Why a carer declines: the server keeps the code (carehex.DeclineReasonCodes);
// the words are the catalogue's reasons (messages.js), as a button label.
const DECLINE_CODES = ["too_far", "busy", "no_skill", "unwell", "off_shift", "other"];
const declineWords = (code) => { const w = reasonText(code); return w.charAt(0).toUpperCase() + w.slice(1); };

// declineReasons replaces the offer's buttons with the short list of
// reasons; a tap on one declines, "back" puts the buttons back.
function declineReasons(id, card, actions) {
  const box = h("div", { class: "decline-reasons", "data-testid": "decline-reasons", role: "group" },
    h("p", { class: "hint", text: t("declineWhy", "拒绝原因") }));
  for (const code of DECLINE_CODES) {
    const b = h("button", { type: "button", class: "secondary", "data-testid": "decline-reason", "data-reason": code, text: declineWords(code) });
    b.addEventListener("click", () => answerOffer(id, false, card, code));
    box.append(b);
  }
  const back = h("button", { type: "button", class: "link-button", "data-testid": "decline-back", text: t("back", "返回") });
  back.addEventListener("click", () => box.replaceWith(actions));
  box.append(back);
  return box;
}

// tick updates the countdowns in place (the cards stay, so a tap is never
// lost to a re-render) and drops offers whose time is up.
function tick() {
  const now = serverNow();
  let expired = false;
  for (const el of document.querySelectorAll("[data-testid=countdown]")) {
    const left = Math.max(0, Math.ceil((Date.parse(el.dataset.expires) - now) / 1000));
    el.dataset.seconds = String(left);
    el.classList.toggle("urgent", left <= 10);
    const mmss = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    el.textContent = left > 0 ? fmt(t("left", "剩余 {s}"), { s: mmss }) : t("expired", "已过期");
    if (left <= 0) expired = true;
  }
  if (expired) {
    setTimeout(() => {
      let changed = false;
      for (const [id, o] of state.offers) {
        if (Date.parse(o.expires_at) <= serverNow()) {
          state.offers.delete(id);
          changed = true;
        }
      }
      if (changed) renderOffers();
    }, 1500);
  }
}

function phaseLabel(status) {
  const zh = { assigned: "待出发", en_route: "在路上", in_progress: "服务中", completed: "已完成", cancelled: "已取消" };
  return t("ph_" + status, zh[status] || status);
}

function cancelReasonName(code) {
  const zh = { caller_cancelled: "来电人取消", duplicate: "重复登记", resolved_by_phone: "电话已解决", hospitalised: "老人住院", other: "其他" };
  return t("cr_" + code, zh[code] || zh.other);
}

function eventName(type) {
  const zh = { depart: "出发", arrive: "到达", complete: "完成", no_show: "无人在家" };
  return t("ev_" + type, zh[type] || type);
}

function renderJob() {
  const box = $("job-box");
  const job = state.job;
  if (!job) {
    box.replaceChildren();
    return;
  }
  const name = serviceName(job.service_code, en());
  // A withdrawn job keeps no trace of the elder's phone, address or notes.
  const r = job.withdrawn ? null : job.resident;
  const card = h("article", { class: "card job", "data-testid": "job", "data-visit-id": job.id },
    h("header", { class: "job-head" },
      h("h2", { text: name }),
      h("span", { class: "job-status", "data-testid": "job-status", "data-status": job.status, text: phaseLabel(job.status) })),
  );
  if (job.withdrawn) {
    // The hotline cancelled it while this carer held it: say so plainly,
    // so nobody sets off for a job that is gone.
    card.append(h("p", { class: "withdrawn", role: "alert", "data-testid": "job-withdrawn",
      text: fmt(t("withdrawn", "调度中心已取消此任务。原因：{r}"), { r: cancelReasonName(job.cancel_reason) }) }));
  }
  if (job.urgency) {
    card.append(h("p", { class: "urgency", "data-urgency": job.urgency, text: urgencyName(job.urgency) }));
  }
  if (r) {
    card.append(h("p", { class: "resident", "data-testid": "resident-name", text: r.name }));
    if (r.phone) {
      card.append(h("a", { class: "tap-link", "data-testid": "call-link", href: "tel:" + r.phone, text: fmt(t("call", "拨打 {p}"), { p: r.phone }) }));
    }
    card.append(h("p", { class: "address", "data-testid": "address", text: r.address }));
    const nav = h("div", { class: "nav-links" });
    const names = { amap: ["nav_amap", "高德地图导航"], baidu: ["nav_baidu", "百度地图导航"], geo: ["nav_geo", "其他地图应用"] };
    for (const l of mapLinks(r.location.lat, r.location.lng, r.address || r.name, supportsGeoURI(navigator.userAgent))) {
      const a = h("a", { class: "tap-link maps-link", "data-testid": "maps-link", "data-app": l.app, href: l.href, text: t(...names[l.app]) });
      if (l.app !== "geo") {
        a.target = "_blank";
        a.rel = "noopener";
      }
      nav.append(a);
    }
    card.append(nav);
    if (job.notes || r.care_notes) {
      const notes = h("dl", { class: "notes", "data-testid": "job-notes" });
      if (job.notes) notes.append(h("dt", { text: t("opNotes", "调度备注") }), h("dd", { "data-testid": "op-notes", text: job.notes }));
      if (r.care_notes) notes.append(h("dt", { text: t("careNotes", "老人情况") }), h("dd", { "data-testid": "care-notes", text: r.care_notes }));
      card.append(notes);
    }
  } else {
    card.append(h("p", { class: "address hint", "data-testid": "address", text: t("noAddress", "此任务的地址已不再显示。") }));
  }
  if (job.planned_start) {
    card.append(h("p", { class: "hint", text: fmt(t("planned", "计划 {a}–{b}"), { a: clock(job.planned_start, en()), b: clock(job.planned_end, en()) }) }));
  }
  // The API sends no task list: the service ordered is the one task.
  const checked = new Set(job.checked || []);
  const box2 = h("input", { type: "checkbox", id: "task-0", checked: checked.has(0) });
  box2.addEventListener("change", () => {
    job.checked = box2.checked ? [0] : [];
    saveJob();
  });
  card.append(h("h3", { text: t("checklist", "服务内容") }),
    h("ul", { class: "checklist", "data-testid": "checklist" }, h("li", {}, box2, h("label", { for: "task-0", text: name }))),
    h("p", { class: "hint small", text: t("checklistNote", "调度中心未提供任务清单，以所派服务项目为准。") }));

  const next = NEXT[job.status];
  const steps = h("div", { class: "steps" });
  for (const attrs of STEP_BUTTONS) {
    const type = attrs["data-testid"];
    const b = h("button", { ...attrs, type: "button", class: type === next ? "primary big" : "big", text: t(type, STEP_ZH[type]) });
    b.disabled = type !== next;
    if (RANK[TARGET[type]] <= RANK[job.status] && job.status !== "cancelled") b.classList.add("done");
    b.addEventListener("click", () => report(type));
    steps.append(b);
  }
  card.append(steps);
  card.append(photoBox(job, state.token, job.photos_required) || "");
  const times = eventTimes(job);
  if (times.length) card.append(h("h3", { text: t("recorded", "已记录") }), h("ul", { class: "event-times", "data-testid": "event-times" }, ...times));
  if (job.status === "en_route") {
    const ns = h("button", { type: "button", class: "link-button", "data-testid": "no-show", text: t("noShow", "无人在家") });
    ns.addEventListener("click", () => report("no_show"));
    card.append(ns);
  }
  if (!LIVE.has(job.status)) {
    const close = h("button", { type: "button", class: "secondary", "data-testid": "dismiss", text: t("dismiss", "关闭") });
    close.addEventListener("click", () => {
      state.job = null;
      refreshVisits();
    });
    card.append(close);
  }
  box.replaceChildren(card);
}

// eventTimes lists the job's events with the time the carer tapped (the
// phone's clock) beside the time the server received them, and the queued
// ones as not sent yet.
function eventTimes(job) {
  const t2 = (iso) => clock(iso, en());
  const seen = new Set();
  const out = (job.events || []).map((e) => {
    seen.add(e.event_id);
    return h("li", { "data-event-id": e.event_id, "data-device-time": e.device_time, "data-receive-time": e.receive_time,
      text: fmt(t("evTimes", "{e}：手机时间 {d}，服务器收到 {r}"), { e: eventName(e.type), d: t2(e.device_time), r: t2(e.receive_time) }) });
  });
  for (const q of queue()) {
    if (q.visit_id !== job.id || seen.has(q.body.event_id)) continue;
    out.push(h("li", { class: "queued", "data-event-id": q.body.event_id, "data-device-time": q.body.device_time,
      text: fmt(t("evQueued", "{e}：手机时间 {d}，尚未发送"), { e: eventName(q.body.type), d: t2(q.body.device_time) }) }));
  }
  return out;
}

function renderPending() {
  const q = queue();
  const box = $("pending-events");
  box.dataset.count = String(q.length);
  box.classList.toggle("empty", q.length === 0);
  $("pending-count").textContent = String(q.length);
  $("pending-note").textContent = q.length ? t("pendingNote", "网络恢复后按顺序自动发送。") : t("pendingNone", "全部已发送。");
  const items = q.map((e) => {
    const li = h("li", { "data-event-id": e.body.event_id },
      h("strong", { text: eventName(e.body.type) }), " · " + clock(e.body.device_time, en()));
    if (e.tries) li.append(" · " + fmt(t("tries", "已试 {n} 次"), { n: e.tries }));
    if (e.error) li.append(h("span", { class: "hint small", text: " " + e.error }));
    return li;
  });
  if (q.length) {
    const again = h("button", { type: "button", class: "secondary", "data-testid": "retry-now", text: t("retryNow", "立即发送") });
    again.addEventListener("click", () => {
      events.resetBackoff();
      flushQueue();
    });
    items.push(h("li", { class: "retry" }, again));
  }
  $("pending-list").replaceChildren(...items);
}

function renderToday() {
  const list = state.visits.filter((v) => !state.job || v.id !== state.job.id);
  $("today-box").hidden = list.length === 0;
  $("today-saved").hidden = !state.savedAt;
  if (state.savedAt) $("today-saved").textContent = fmt(t("offlineCopy", "无网络：显示 {t} 时加载的任务。"), { t: clock(state.savedAt, en()) });
  $("today").replaceChildren(...list.map((v) => {
    const li = h("li", {},
      h("span", { text: clock(v.planned_start, en()) + " " + serviceName(v.service_code, en()) }), " ",
      h("span", { class: "tag", "data-status": v.status, text: phaseLabel(v.status) }));
    if (LIVE.has(v.status)) {
      const b = h("button", { type: "button", class: "secondary", text: t("work", "处理") });
      b.addEventListener("click", () => setJob(v));
      li.append(" ", b);
    }
    return li;
  }));
}

// ---- QR sign-in -------------------------------------------------------------

// The camera and BarcodeDetector are offered only where the browser has
// both (Chrome on Android); elsewhere the token is typed or comes in the
// link's #token=.
function setupScan() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return;
  $("scan-box").hidden = false;
  $("scan").addEventListener("click", async () => {
    const video = $("scan-video");
    let media;
    try {
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      media = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = media;
      video.hidden = false;
      await video.play();
      const until = Date.now() + 60000;
      while (Date.now() < until && !video.hidden) {
        const codes = await detector.detect(video);
        if (codes.length) {
          const raw = codes[0].rawValue || "";
          const m = /[#&]token=([^&]+)/.exec(raw);
          const token = m ? decodeURIComponent(m[1]) : raw.trim();
          $("device-token").value = token;
          signIn(token);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    } catch (err) {
      showError(err, t("scanFailed", "摄像头无法读取二维码："));
    } finally {
      media?.getTracks().forEach((tr) => tr.stop());
      video.hidden = true;
      video.srcObject = null;
    }
  });
}

// ---- wiring ---------------------------------------------------------------

setup({ en: EN });
document.addEventListener("langchange", render);
$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  signIn($("device-token").value);
});
$("sign-out").addEventListener("click", () => signOut());
$("error").addEventListener("click", () => showError(""));
$("go-available").addEventListener("click", () => setAvailable(!state.available));
window.addEventListener("offline", () => {
  state.hbNet = false;
  state.streamLive = false;
  renderStatus();
});
window.addEventListener("online", () => {
  // Optimistic until a call says otherwise: the heartbeat below checks.
  state.hbNet = true;
  renderStatus();
  events.resetBackoff();
  flushQueue();
  flushCards();
  if (state.token) {
    refreshVisits();
    heartbeat();
  }
});
setInterval(tick, 500);
setupScan();
flushCards();
// The service worker keeps the app and the day list for a dead zone; a
// browser without one (or on plain http away from localhost) works online.
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/phone/sw.js", { scope: "/phone/" }).catch(() => {});
}

// A link with #token= signs in (again, as another provider if need be),
// also when it is opened on the page already showing.
function fromFragment() {
  const token = tokenFromFragment();
  if (!token || token === state.token) return false;
  if (state.token) signOut();
  $("signin").hidden = false;
  $("device-token").value = token;
  render();
  signIn(token);
  return true;
}
window.addEventListener("hashchange", fromFragment);

if (!fromFragment()) {
  const stored = localStorage.getItem(KEY.token) || "";
  if (stored) start(stored);
  else {
    $("signin").hidden = false;
    render();
  }
}
flushQueue();
