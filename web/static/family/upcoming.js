// The family's week ahead: the relative's planned (recurring) visits of the
// next 7 days with their carers, from GET /m/v1/family/upcoming. A change
// is told in words and marked, never by colour alone: another carer than
// last time, a visit moved from its usual time, a visit cancelled (and why).
import { lang, reasonText } from "/i18n.js";
import { call, clock, h, serviceName } from "/phone/mobileapi.js";

const REFRESH_MS = 60000;
const en = () => lang() === "en";
const say = (zh, english) => (en() ? english : zh);
const $ = (id) => document.getElementById(id);

let token = "";
let timer = 0;
let last = null; // the last answer, redrawn on a language switch

// startUpcoming shows token's week and keeps it fresh; stopUpcoming clears it.
export function startUpcoming(t) {
  token = t;
  clearInterval(timer);
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

export function stopUpcoming() {
  token = "";
  last = null;
  clearInterval(timer);
  $("upcoming").hidden = true;
  $("requests-title").hidden = true;
  $("upcoming-list").replaceChildren();
}

async function refresh() {
  const t = token;
  if (!t) return;
  try {
    const r = await call(t, "GET", "/m/v1/family/upcoming");
    if (t !== token) return;
    last = r.visits || [];
    render();
  } catch {
    // The requests list above reports the connection; the week waits for the next refresh.
  }
}

function day(iso) {
  return new Date(iso).toLocaleDateString(en() ? "en-GB" : "zh-CN", { month: "short", day: "numeric", weekday: "short" });
}

function hhmm(iso) {
  return clock(iso, en()).replace(/^.* /, "");
}

function item(v) {
  const changes = [];
  if (v.status === "cancelled") {
    changes.push(h("p", { class: "change", "data-testid": "upcoming-cancelled",
      text: say("已取消", "Cancelled") + (v.reason ? say("：", ": ") + reasonText(v.reason) : "") }));
  } else if (v.status === "paused") {
    changes.push(h("p", { class: "change", "data-testid": "upcoming-paused",
      text: say("暂停", "Paused") + (v.reason ? say("：", ": ") + reasonText(v.reason) : "") }));
  }
  if (v.time_changed && v.original_window_start_time) {
    changes.push(h("p", { class: "change", "data-testid": "upcoming-time-changed",
      text: say(`时间有调整（原定 ${day(v.original_window_start_time)} ${hhmm(v.original_window_start_time)}）`,
        `Time changed (was ${day(v.original_window_start_time)} ${hhmm(v.original_window_start_time)})`) }));
  }
  if (v.carer_changed) {
    changes.push(h("p", { class: "change", "data-testid": "upcoming-carer-changed",
      text: v.previous_provider_name ? say(`更换了服务人员（上次是${v.previous_provider_name}）`, `New carer (last time: ${v.previous_provider_name})`)
        : say("更换了服务人员", "New carer") }));
  }
  const carer = v.status === "cancelled" || v.status === "paused" ? null
    : h("p", { class: "worker", "data-testid": "upcoming-carer",
      text: v.provider_name ? say(`服务人员：${v.provider_name}`, `Care worker: ${v.provider_name}`) : say("服务人员待安排", "Care worker to be arranged") });
  return h("li", { class: "card upcoming-visit" + (changes.length ? " changed" : ""), "data-testid": "upcoming-visit",
    "data-planned-visit-id": v.planned_visit_id, "data-status": v.status, "data-changed": String(changes.length > 0) },
  h("h3", { text: `${day(v.window_start_time)} ${hhmm(v.window_start_time)}–${hhmm(v.window_end_time)}` }),
  h("p", { class: "what", text: serviceName(v.service_code, en()) }),
  carer, ...changes);
}

// render shows the week only to a family whose relative has planned
// visits; the others see the page as before (their requests, untitled).
function render() {
  if (!last || !token) return;
  $("upcoming").hidden = last.length === 0;
  $("requests-title").hidden = last.length === 0;
  $("upcoming-list").replaceChildren(...last.map(item));
}

document.addEventListener("langchange", render);
