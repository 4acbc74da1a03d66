// The operator console: sign in, then the caller lookup and request form on
// the left, the live dispatch board (or map, or roster) in the middle and
// the alert queue on the right, all refreshed when the server says the board
// changed (GET /console/v1/stream) and every 20 s as the safety net.
import { errorText, roleName, setup, t } from "/i18n.js";
import { auth, canWrite, isAuthError, isOrgRole, organisations, session } from "./api.js";
import { mountAutoDispatch } from "./routing.js";
import { setupAlerts, refreshAlerts } from "./alerts.js";
import { refreshBoard, setupBoard } from "./board.js";
import { loadCatalogue } from "./cache.js";
import { openRequest, refreshDetail, setupDetail } from "./detail.js";
import { $$, byTestId, h, replace } from "./dom.js";
import { resetForm, setupIntake } from "./intake.js";
import { renderCard, select, setupLookup } from "./lookup.js";
import { refreshMap } from "./map.js";
import { refreshProviders, resetProviders } from "./providers.js";
import { refreshStatements } from "./statements.js";
import { refreshPlans } from "./plan.js";
import { refreshRoster, resetRoster } from "./rosterview.js";
import { refreshEscalations, setupEscalations } from "./escalation.js";
import { setupRegister } from "./register.js";
import { canSeeFinance, refreshFinance } from "./finance.js";
import { refreshCallbacks, refreshComplaints } from "./quality.js";
import { extension, popCall, setupCall } from "./call.js";
import { refreshFraud } from "./fraud.js";
// The one SSE reader of the pages (fetch-based, so the bearer token travels
// in the header); the console stream speaks the same framing as the phone's.
import { stream } from "/phone/mobileapi.js";

// POLL_MS is the slow reconcile: refreshes come from the stream's "changed"
// events; this timer only catches what a lost event or a stream that is
// down would miss (and what sends no event, e.g. providers moving on the map).
const POLL_MS = 20000;

const en = {
  title: "carehex operator console", logout: "Sign out", loginTitle: "Operator sign-in", username: "Username",
  password: "Password", signIn: "Sign in", callerTitle: "Incoming call", requestTitle: "Log a request",
  urgency: "Urgency", uEmergency: "Emergency", uSoon: "Soon", uScheduled: "Scheduled", windowStart: "From",
  windowEnd: "To", submit: "Submit", tabBoard: "Dispatch board", tabMap: "Map", tabProviders: "Providers",
  tabPlans: "Care plans", tabRoster: "Roster", tabFinance: "Settlement", cardHeading: "Elderly care service card",
  tabCallbacks: "Callbacks", tabComplaints: "Complaints",
  legendProviders: "Providers", legendRequests: "Open requests", legendBoth: "Both", alertsTitle: "Alerts", alertsHistory: "Show closed alerts", tokenTitle: "Device token",
  tokenHint: "Shown only this once: scan the QR code with the provider's phone, or type the token above.",
  callerPlaceholder: "Phone digits (last four will do) or name", servicePlaceholder: "Service: Chinese or English name, or code",
  notes: "Notes", rName: "Name", rPhone: "Phone", rAddress: "Address", rDistrict: "District", rLat: "Latitude",
  rLng: "Longitude", rPick: "Place on the map", rBirth: "Birth year", rGender: "Gender", gUnknown: "Not given",
  gFemale: "Female", gMale: "Male", rContact: "Emergency contact", rContactName: "Name",
  rContactRelation: "Relation (e.g. son)", rContactPhone: "Phone", rNotes: "Care notes (e.g. diabetic, hard of hearing)",
  rSave: "Save", rCancel: "Cancel", extension: "Extension", pickUp: "Take the call",
  readOnly: "Supervisor account: read only; nothing can be logged or changed.",
  tabQueue: "Order queue", tabStatements: "Statements",
  rStreet: "Street / town", rCommunity: "Community / village", rGeocode: "Find the address", mapEmpty: "No providers or open requests",
  tabFraud: "Fraud review", // issue 12, fraud.js
};

let tab = "board";
let timer = 0;

function placeholders() {
  for (const el of $$("[data-i18n-placeholder]")) {
    el.dataset.zhPlaceholder ??= el.placeholder;
    el.placeholder = t(el.dataset.i18nPlaceholder, el.dataset.zhPlaceholder);
  }
}

function showLogin(msg = "") {
  clearTimeout(timer);
  stopStream();
  byTestId("console").hidden = true;
  byTestId("logout").hidden = true;
  byTestId("current-user").textContent = "";
  byTestId("login").hidden = false;
  byTestId("login-error").textContent = msg;
  byTestId("login-username").focus();
}

async function showDesk() {
  const s = session.get();
  byTestId("login").hidden = true;
  byTestId("console").hidden = false;
  byTestId("logout").hidden = false;
  // The account name is a person's chosen identifier, not text to translate.
  replace(byTestId("current-user"), h("span", { translate: "no" }, s.username), ` (${roleName(s.role)})`);
  await loadCatalogue();
  resetProviders();
  resetRoster();
  // Supervisors oversee: no intake form, no telephone, no write buttons
  // anywhere (each part asks canWrite before drawing one).
  const writer = canWrite();
  document.body.classList.toggle("read-only", !writer);
  byTestId("request-form").hidden = !writer;
  byTestId("call-desk").hidden = !writer;
  byTestId("read-only-note").hidden = writer;
  showOrgView(isOrgRole());
  if (!isOrgRole()) byTestId("caller-search").focus();
  byTestId("tab-finance").hidden = !canSeeFinance(); // the district's supervisors and admins
  if (tab === "finance" && !canSeeFinance()) switchTab("board");
  await poll();
  startStream();
}

// showOrgView turns the desk into an organisation's view (issue 12): no
// caller lookup, intake or city map; the board is its queue of orders
// (the server lists only its own), beside its carers, its statements and
// its alerts, under the organisation's name.
function showOrgView(org) {
  byTestId("console").classList.toggle("org", org);
  byTestId("desk-left").hidden = org;
  byTestId("tab-map").hidden = org;
  byTestId("tab-plans").hidden = org; // planned care is the platform's
  byTestId("tab-roster").hidden = org;
  byTestId("tab-fraud").hidden = org; // payment review is the district's
  byTestId("tab-callbacks").hidden = org; // callbacks and complaints are the hotline's
  byTestId("tab-complaints").hidden = org;
  byTestId("tab-statements").hidden = !org;
  byTestId("tab-board").hidden = org;
  byTestId("tab-queue").hidden = !org;
  byTestId("org-name").textContent = "";
  if (org) {
    organisations.listOrganisations({}).then(({ organisations: os }) => {
      byTestId("org-name").textContent = os[0]?.name || "";
    }).catch(() => {});
    mountAutoDispatch(byTestId("org-name")); // two-tier dispatch (routing.js)
  }
  if ((org && ["map", "plans", "roster", "fraud", "callbacks", "complaints"].includes(tab)) || (!org && tab === "statements")) switchTab("board");
}

// The console stream: each "changed" event refreshes the board at once.
// It reconnects after the server's retry advice (longer while it keeps
// failing); every (re)connect refreshes once, since events may have been
// missed while it was down.
let streamAbort = null;
function stopStream() {
  if (streamAbort) streamAbort.abort();
  streamAbort = null;
}

function startStream() {
  stopStream();
  const ctl = new AbortController();
  streamAbort = ctl;
  (async () => {
    let delay = 3000;
    while (!ctl.signal.aborted && session.get()) {
      try {
        const ext = extension();
        const path = "/console/v1/stream" + (ext ? "?extension=" + encodeURIComponent(ext) : "");
        delay = await stream(session.get().token, path, (name, data) => {
          if (name === "changed") poll();
          else if (name === "call") popCall(data);
        },
          ctl.signal, () => { delay = 3000; poll(); });
      } catch (e) {
        if (ctl.signal.aborted) return;
        if (e.status === 401) { session.clear(); showLogin(t("expired", "登录已过期，请重新登录")); return; }
        delay = Math.min(delay * 2, 30000);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  })();
}

// poll refreshes whatever is on screen, then schedules itself again. One
// poll runs at a time; a call while one is running asks for another at once.
let polling = false;
let again = false;
// tabRefresh is each tab's refresh, by its data-tab name.
const tabRefresh = {
  board: refreshBoard, map: refreshMap, providers: refreshProviders, statements: refreshStatements,
  plans: refreshPlans, roster: refreshRoster, fraud: refreshFraud, finance: refreshFinance,
  callbacks: refreshCallbacks, complaints: refreshComplaints,
};

async function poll() {
  if (!session.get()) return;
  if (polling) { again = true; return; }
  polling = true;
  clearTimeout(timer);
  try {
    await Promise.all([
      (tabRefresh[tab] || refreshProviders)(),
      refreshAlerts(),
      isOrgRole() ? null : refreshEscalations(),
      refreshDetail(),
      isOrgRole() ? null : renderCard(),
    ]);
    byTestId("console").classList.remove("offline");
  } catch (e) {
    if (isAuthError(e)) { polling = false; session.clear(); showLogin(t("expired", "登录已过期，请重新登录")); return; }
    byTestId("console").classList.add("offline");
  }
  polling = false;
  timer = setTimeout(poll, again ? 0 : POLL_MS);
  again = false;
}

function switchTab(name) {
  tab = name;
  for (const b of $$("[role=tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const p of $$("[data-pane]")) p.hidden = p.dataset.pane !== name;
  poll();
}

byTestId("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target.elements;
  try {
    const r = await auth.login({ username: f.username.value.trim(), password: f.password.value });
    session.set({ token: r.token, role: r.role, username: f.username.value.trim() });
    f.password.value = "";
    await showDesk();
  } catch (err) {
    // A lockout answers resource_exhausted even for the right password; a
    // disabled account, permission_denied.
    const words = {
      unauthenticated: () => t("badLogin", "用户名或密码不对"),
      resource_exhausted: () => t("loginLocked", "登录失败次数过多，请稍后再试"),
      permission_denied: () => t("accountDisabled", "此账号已停用，请联系管理员"),
    }[err.code];
    byTestId("login-error").textContent = words ? words() : errorText(err);
  }
});

byTestId("logout").addEventListener("click", async () => {
  await auth.logout({}).catch(() => {});
  session.clear();
  showLogin();
});

for (const b of $$("[role=tab]")) b.addEventListener("click", () => switchTab(b.dataset.tab));

setup({ en: { ...en, expired: "Session expired; sign in again", badLogin: "Wrong username or password",
  loginLocked: "Too many failed logins; try again later", accountDisabled: "This account is disabled; ask an administrator" } });
placeholders();
document.addEventListener("langchange", () => { placeholders(); resetProviders(); resetRoster(); if (session.get()) poll(); });

setupLookup(() => { resetForm(); byTestId("service-input").focus(); if (tab === "plans") poll(); });
// A caller just registered (or edited) goes on the card, and the request
// form follows, as for a caller found by the lookup.
setupRegister((r) => select(r), (name) => switchTab(name));
setupCall(() => { if (session.get()) startStream(); });
setupIntake(() => Promise.all([refreshBoard(), renderCard()]));
setupBoard(openRequest);
setupAlerts(openRequest);
setupEscalations(openRequest);
setupDetail(() => poll());

if (session.get()) showDesk().catch((e) => (isAuthError(e) ? (session.clear(), showLogin()) : null));
else showLogin();
