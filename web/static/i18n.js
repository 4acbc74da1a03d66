// i18n: pages are in Chinese by default; a switch turns them to English.
// Chinese text is written in the HTML itself; setup() receives each page's
// English strings keyed by the data-i18n attribute, remembers the choice in
// localStorage, and t(key, zh) picks the string for text made in JavaScript.

const KEY = "carehex.lang";
let english = {};

export function lang() {
  return localStorage.getItem(KEY) === "en" ? "en" : "zh";
}

// t returns the English string for key when English is on, else zh.
export function t(key, zh) {
  return lang() === "en" && english[key] ? english[key] : zh;
}

// setup records the page's English strings, applies the stored language to
// every [data-i18n] element, and wires every [data-lang-switch] button.
export function setup(dict) {
  english = dict.en || {};
  const zh = new Map();
  const apply = () => {
    const en = lang() === "en";
    document.documentElement.lang = en ? "en" : "zh-CN";
    for (const el of document.querySelectorAll("[data-i18n]")) {
      const k = el.dataset.i18n;
      if (!zh.has(el)) zh.set(el, el.textContent);
      el.textContent = en && english[k] ? english[k] : zh.get(el);
    }
    for (const b of document.querySelectorAll("[data-lang-switch]")) b.textContent = en ? "中文" : "English";
    document.dispatchEvent(new CustomEvent("langchange"));
  };
  for (const b of document.querySelectorAll("[data-lang-switch]")) {
    b.addEventListener("click", () => {
      localStorage.setItem(KEY, lang() === "en" ? "zh" : "en");
      apply();
    });
  }
  apply();
}

// --- Words for codes -------------------------------------------------------
// Whatever the server tells a person arrives as a code and parameters (an
// alert's code/params, a timeline event's reason_code/reason_params, a
// Twirp error's meta "code"/"params"); msg() renders it from messages.js in
// the page's language. Pages register the catalogue's names (services,
// skills, categories) once loaded, so parameters naming them read as words.
import CATALOGUE from "./messages.js";

const names = { service: new Map(), skill: new Map(), category: new Map() };

// registerNames records {code, name_zh, name_en} entries of kind service,
// skill or category (e.g. from CatalogService/ListServiceTypes).
export function registerNames(kind, list) {
  for (const n of list || []) names[kind].set(n.code, [n.name_zh, n.name_en]);
}

const ix = () => (lang() === "en" ? 1 : 0);
const pick = (table, key) => (table && table[key] ? table[key][ix()] : null);

// nameOf says a service, skill or category code in words; an unknown code
// stays as it is (a test on zh pages catches any that show).
export function nameOf(kind, code) {
  const n = names[kind].get(code);
  return n ? n[ix()] || n[0] : code;
}
export const serviceName = (code) => nameOf("service", code);
export const skillName = (code) => nameOf("skill", code);
export const categoryName = (code) => nameOf("category", code);
export const statusWord = (s) => pick(CATALOGUE.statuses, String(s || "").replace(/^(REQUEST|OFFER)_STATUS_/, "").toLowerCase()) || s;
export const roleName = (r) => pick(CATALOGUE.roles, r) || r;

// fieldName says a request field in words: the whole path, then without
// list indices, then its last part, else "this field".
export function fieldName(f) {
  const plain = String(f || "").replace(/\[\d*\]/g, "");
  const last = plain.split(".").pop();
  return pick(CATALOGUE.fields, f) || pick(CATALOGUE.fields, plain) || pick(CATALOGUE.fields, last) || CATALOGUE.fallback_field[ix()];
}

// reasonText says a reason: a known code, "code: a person's words", or
// words alone, shown as they are.
export function reasonText(r) {
  r = String(r || "");
  const at = r.indexOf(": ");
  const code = at < 0 ? r : r.slice(0, at);
  const known = pick(CATALOGUE.reasons, code);
  if (!known) return r;
  return at < 0 ? known : known + (ix() ? ": " : "：") + r.slice(at + 2);
}

export function duration(s) {
  const n = Math.round(Number(s));
  const u = ix() ? ["s", "min", "h"] : ["秒", "分钟", "小时"];
  if (n < 60) return `${n} ${u[0]}`;
  if (n < 3600 || (n % 3600 !== 0 && n < 7200)) return `${Math.round(n / 60)} ${u[1]}`;
  return `${Math.round(n / 3600)} ${u[2]}`;
}

export function metres(m) {
  m = Number(m);
  if (m < 1000) return `${Math.round(m)} ${ix() ? "m" : "米"}`;
  return `${Math.round(m / 100) / 10} ${ix() ? "km" : "公里"}`;
}

// param renders one parameter by its name, as internal/msg does.
function param(name, v) {
  if (v === undefined || v === null) return "";
  if (name === "field") return fieldName(v);
  if (name === "role") return roleName(v);
  if (name === "from" || name === "to" || name === "status") return statusWord(v);
  if (name === "reason") return reasonText(v);
  if (name === "service_code") return serviceName(v);
  if (name === "skill") return skillName(v);
  if (name === "radius_m" || name === "distance_m") return metres(v);
  if (name.endsWith("_s")) return duration(v);
  if (name.endsWith("_time")) {
    const d = new Date(v);
    if (!isNaN(d)) return d.toLocaleString(ix() ? "en-GB" : "zh-CN", { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  }
  return String(v);
}

// msg renders a message code with its parameters in the page's language.
// An unknown code renders as the code, so that a gap shows (and the zh
// page test fails) rather than vanishing.
export function msg(code, params) {
  const tpl = pick(CATALOGUE.messages, code);
  if (!tpl) return String(code || "");
  return tpl.replace(/\{([a-z_]+)\}/g, (_, name) => param(name, (params || {})[name]));
}

// hasMsg reports whether the catalogue knows code.
export const hasMsg = (code) => Boolean(CATALOGUE.messages[code]);

// errorText renders a failed call for a person: the Twirp error's meta
// "code" and "params" (any thrown value: TwirpError, a mobile-API error
// with code/params, or a network failure, which reads as "unavailable").
export function errorText(err) {
  const meta = (err && err.meta) || {};
  let code = meta.code || (err && err.params !== undefined ? err.code : "");
  let params = {};
  try { params = meta.params ? JSON.parse(meta.params) : (err && err.params) || {}; } catch { params = {}; }
  if (!code || !hasMsg(code)) {
    code = err && err.code === "permission_denied" ? "forbidden" : err && err.code === "unauthenticated" ? "unauthenticated" : err && err.code === "not_found" ? "not_found" : "unavailable";
    if (meta.argument) params = { field: meta.argument };
  }
  return msg(code, params);
}
