// The mobile API (/m/v1/) as the phone and family pages use it: JSON calls
// with the bearer token, the API's {"error":{code,message,field}} turned
// into an ApiError, and Server-Sent Events read through fetch(), because
// EventSource cannot send the Authorization header the API requires.

import { lang, msg, t } from "/i18n.js";
import { SERVICES } from "/phone/services.js";

// ApiError is an answer of the API other than 2xx; status 0 means the
// network failed (offline, server down) and the call may be tried again.
export class ApiError extends Error {
  constructor(status, code, message, field, msgCode, params) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || "";
    this.msgCode = msgCode || ""; // what a person is shown (messages.js)
    this.params = params || {};
  }
  // retryable: worth sending again later unchanged.
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

// serverOffsetMs is the server's clock minus this device's, from the Date
// header of the latest answer, so countdowns to a server time are right on a
// phone whose clock is off. It is only as good as the header's one second.
let serverOffsetMs = 0;

export function serverNow() {
  return Date.now() + serverOffsetMs;
}

function noteDate(res) {
  const d = Date.parse(res.headers.get("Date") || "");
  if (Number.isNaN(d)) return;
  // Within the header's precision the device's own clock is trusted.
  const off = d + 500 - Date.now();
  serverOffsetMs = Math.abs(off) > 2000 ? off : 0;
}

const offline = () => new ApiError(0, "network", t("offline", "网络不可用，稍后自动重试"));

async function errorFrom(res) {
  let code = "http_" + res.status;
  let message = res.statusText || "HTTP " + res.status;
  let field = "";
  let msgCode = "";
  let params = {};
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
      field = body.error.field || "";
      msgCode = body.error.msg_code || "";
      params = body.error.params || {};
    }
  } catch {
    // not JSON (a proxy's page): keep the HTTP status as the message
  }
  return new ApiError(res.status, code, message, field, msgCode, params);
}

// call sends one request and returns the decoded JSON body.
export async function call(token, method, path, body, signal) {
  // The browser knows it is offline: do not try (a failed fetch is also an
  // error line in the console).
  if (navigator.onLine === false) throw offline();
  const init = { method, headers: { Authorization: "Bearer " + token }, signal, cache: "no-store" };
  if (body instanceof Blob) { // a photo (photos.js), sent as itself
    init.headers["Content-Type"] = body.type;
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw offline();
  }
  noteDate(res);
  if (!res.ok) throw await errorFrom(res);
  return res.json();
}

// stream reads the SSE answer of path, calling onEvent(name, data) for
// each event with JSON data, until the server ends it, the network drops or
// signal aborts; onOpen, if given, is called once the stream is open. It
// resolves with the server's retry advice in ms.
export async function stream(token, path, onEvent, signal, onOpen) {
  if (navigator.onLine === false) throw offline();
  let res;
  try {
    res = await fetch(path, { headers: { Authorization: "Bearer " + token, Accept: "text/event-stream" }, signal, cache: "no-store" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw offline();
  }
  noteDate(res);
  if (!res.ok) throw await errorFrom(res);
  if (!res.body) throw new ApiError(0, "no_stream", "this browser cannot read a stream");
  if (onOpen) onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let retry = 3000;
  let event = "message";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return retry;
      buf += value;
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (data.length) {
            let parsed;
            try {
              parsed = JSON.parse(data.join("\n"));
            } catch {
              parsed = undefined;
            }
            if (parsed !== undefined) onEvent(event, parsed);
          }
          event = "message";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // comment: keep-alive
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "retry" && /^\d+$/.test(value)) retry = Number(value);
      }
    }
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw offline();
  } finally {
    reader.releaseLock();
  }
}

// serviceName names a service_code in the page's language; an unknown code
// (the catalogue grew since this build) shows as itself.
export function serviceName(code, english) {
  const names = SERVICES[code];
  if (!names) return code || "";
  return english ? names[1] : names[0];
}

// tokenFromFragment takes #token=… off the address (so it is not left in
// the history or a screenshot) and returns it, or "".
export function tokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return "";
  history.replaceState(null, "", location.pathname + location.search);
  try {
    return decodeURIComponent(m[1]).trim();
  } catch {
    return m[1].trim();
  }
}

// h makes an element: h("li", {class: "x", "data-testid": "y"}, child, "text").
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

// clock formats a time as HH:MM, with the date when it is not today, or
// always when withDate (a family reading a list days later).
export function clock(iso, english, withDate = false) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const locale = english ? "en-GB" : "zh-CN";
  const time = d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  if (!withDate && d.toDateString() === new Date().toDateString()) return time;
  return d.toLocaleDateString(locale, { month: "short", day: "numeric" }) + " " + time;
}

// describe says what went wrong in the page's language: the API's code
// explained, then (when detail is set) the server's message code in words
// (never its English message, which is for logs).
const ERR_ZH = {
  unauthenticated: "令牌无效或已过期，请重新登录",
  forbidden: "此令牌不能用于本页面",
  not_found: "找不到：可能已取消、已过期或已由他人接单",
  conflict: "状态已变化，无法执行此操作",
  invalid: "提交的数据有误",
  rate_limited: "操作太频繁，请稍候再试",
  too_large: "提交的数据过大",
  unavailable: "服务暂时不可用，请稍后再试",
  internal: "服务器出错，请稍后再试",
  network: "网络不可用，稍后自动重试",
};

export const ERR_EN = {
  err_unauthenticated: "Invalid or expired token: please sign in again",
  err_forbidden: "This token cannot be used on this page",
  err_not_found: "Not found: it may have been cancelled, expired or taken by someone else",
  err_conflict: "Its state has changed; this cannot be done now",
  err_invalid: "The data sent was not accepted",
  err_rate_limited: "Too many requests: wait a moment",
  err_too_large: "The data sent is too large",
  err_unavailable: "The service is unavailable: try again shortly",
  err_internal: "Server error: try again shortly",
  err_network: "No network; will retry automatically",
};

export function describe(err, detail = true) {
  if (!(err instanceof ApiError)) return typeof err === "string" ? err : err.message;
  const known = ERR_ZH[err.code];
  if (!known) return err.msgCode ? msg(err.msgCode, err.params) : t("err_internal", ERR_ZH.internal);
  const text = t("err_" + err.code, known);
  const words = err.msgCode ? msg(err.msgCode, err.params) : "";
  return detail && words && words !== text ? `${text}${lang() === "en" ? ": " : "："}${words}` : text;
}

// STATUS names each request and visit status; pages add STATUS_EN to the
// English strings they give setup().
const STATUS_ZH = {
  pending: "等待派单",
  offered: "正在联系服务人员",
  assigned: "已派单",
  en_route: "服务人员在路上",
  in_progress: "服务中",
  completed: "已完成",
  cancelled: "已取消",
  unfilled: "暂无人员，调度中心跟进中",
};

export const STATUS_EN = {
  st_pending: "Waiting for dispatch",
  st_offered: "Contacting a care worker",
  st_assigned: "Care worker assigned",
  st_en_route: "Care worker on the way",
  st_in_progress: "Service under way",
  st_completed: "Completed",
  st_cancelled: "Cancelled",
  st_unfilled: "Nobody free yet; the centre is following up",
  offline: "No network; will retry automatically",
};

export function statusLabel(status) {
  return t("st_" + status, STATUS_ZH[status] || status);
}
