// The roster tab: one day (RosterViewService/GetRosterDay) as a timeline per
// carer: shifts as bands, each visit (planned or on demand) as a block, and
// the travel before it drawn as a hatched gap ending where the visit
// begins; beneath, the planned visits left unassigned with the roster's
// reasons, and the day's on-time rate. Operators can run the roster for
// the week from the day shown; supervisors only read.
import { errorText, reasonText, statusWord } from "/i18n.js";
import { canWrite, plans, rosterView } from "./api.js";
import { services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { cstDate } from "./plan.js";
import { say, serviceName } from "./labels.js";

const MODES = { walk: ["步行", "walking"], ebike: ["电动车", "e-bike"], car: ["汽车", "car"] };
const state = { date: "", sig: "", built: false, note: null };

const cstMinutes = (iso) => {
  const d = new Date(new Date(iso).getTime() + 8 * 3600e3);
  return d.getUTCHours() * 60 + d.getUTCMinutes();
};
const hhmm = (iso) => new Date(new Date(iso).getTime() + 8 * 3600e3).toISOString().slice(11, 16);
const mins = (s) => Math.max(1, Math.round(s / 60));

function build() {
  const pane = byTestId("roster");
  state.date ||= cstDate();
  const date = h("input", { type: "date", value: state.date, dataset: { testid: "roster-date" }, "aria-label": say("日期", "Date"),
    onchange: (e) => { state.date = e.target.value || cstDate(); state.sig = ""; refreshRoster(); } });
  const run = canWrite() ? h("button", { type: "button", dataset: { testid: "roster-run" }, onclick: runRoster }, say("从此日起排班 7 天", "Roster 7 days from this day")) : null;
  replace(pane,
    h("div", { class: "roster-bar" }, date, " ", run, " ", h("span", { class: "muted", dataset: { testid: "roster-run-result" }, role: "status" })),
    h("p", { class: "ontime", dataset: { testid: "roster-ontime" } }),
    h("div", { class: "timeline", dataset: { testid: "roster-timeline" } }),
    h("h3", {}, say("未排上的计划服务", "Planned visits not rostered")),
    h("ul", { class: "unassigned", dataset: { testid: "roster-unassigned" } }));
  state.built = true;
}

export function resetRoster() { state.built = false; state.sig = ""; }

async function runRoster(e) {
  const btn = e.target;
  btn.disabled = true;
  const out = byTestId("roster-run-result");
  try {
    const r = await plans.runRoster({ start_date: state.date, days: 7 });
    out.textContent = say(`已排 ${(r.assigned || []).length} 次，未排上 ${(r.unassigned || []).length} 次`,
      `${(r.assigned || []).length} rostered, ${(r.unassigned || []).length} left`);
  } catch (err) {
    out.textContent = errorText(err);
  }
  btn.disabled = false;
  state.sig = "";
  await refreshRoster();
}

export async function refreshRoster() {
  if (!state.built || !byTestId("roster-date")) build();
  const date = state.date;
  const day = await rosterView.getRosterDay({ date });
  if (date !== state.date) return;
  const sig = JSON.stringify([day, document.documentElement.lang, Math.floor(Date.now() / 60000)]);
  if (sig === state.sig) return;
  state.sig = sig;
  const ontime = byTestId("roster-ontime");
  ontime.dataset.due = String(day.due || 0);
  ontime.dataset.onTime = String(day.on_time || 0);
  ontime.textContent = day.due
    ? say(`当日准时率：${Math.round((100 * (day.on_time || 0)) / day.due)}%（${day.on_time || 0}/${day.due} 次计划服务在时段内签到）`,
      `On-time rate: ${Math.round((100 * (day.on_time || 0)) / day.due)}% (${day.on_time || 0} of ${day.due} planned visits checked in within their window)`)
    : say("当日准时率：—（还没有到期的计划服务）", "On-time rate: — (no planned visit due yet)");
  drawTimeline(day.carers || []);
  const un = day.unassigned || [];
  replace(byTestId("roster-unassigned"), un.length ? un.map((u) => h("li", { dataset: { testid: "roster-unassigned-visit", plannedVisitId: u.visit.id, reason: u.reason } },
    `${hhmm(u.visit.window_start_time)}–${hhmm(u.visit.window_end_time)} `, h("b", {}, u.resident_name), " · ",
    serviceName(services.get(u.visit.service_code)) || u.visit.service_code, " · ",
    h("span", { class: "bad", dataset: { testid: "roster-unassigned-reason" } }, reasonText(u.reason))))
    : h("li", { class: "muted" }, say("没有", "None")));
}

// drawTimeline lays each carer's day on one scale: from the earliest shift
// or journey (at most 06:00) to the latest end (at least 20:00).
function drawTimeline(carers) {
  const box = byTestId("roster-timeline");
  if (!carers.length) {
    replace(box, h("p", { class: "muted", dataset: { testid: "roster-empty" } }, say("还没有服务人员设置工作时间。", "No carer has working hours yet.")));
    return;
  }
  let lo = 6 * 60;
  let hi = 20 * 60;
  for (const c of carers) {
    for (const s of c.shifts || []) { lo = Math.min(lo, cstMinutes(s.start_time)); hi = Math.max(hi, cstMinutes(s.end_time) || 1440); }
    for (const st of c.stops || []) { lo = Math.min(lo, cstMinutes(st.start_time) - mins(st.travel_s || 0)); hi = Math.max(hi, cstMinutes(st.end_time) || 1440); }
  }
  lo = Math.max(0, Math.floor(lo / 60) * 60);
  hi = Math.min(1440, Math.ceil(hi / 60) * 60);
  const frac = (m) => ((Math.min(hi, Math.max(lo, m)) - lo) / (hi - lo)) * 100;
  // Positions go through the CSSOM: the page's CSP refuses style attributes.
  const at = (el, a, b) => {
    el.style.left = `${frac(a)}%`;
    if (b !== undefined) el.style.width = `${frac(b) - frac(a)}%`;
    return el;
  };
  const hours = [];
  for (let m = lo; m <= hi; m += 120) hours.push(at(h("span", { class: "tick" }, `${String(m / 60).padStart(2, "0")}:00`), m));
  replace(box,
    h("div", { class: "tl-row tl-scale" }, h("div", { class: "tl-who" }), h("div", { class: "tl-track" }, hours)),
    carers.map((c) => {
      const mode = MODES[c.travel_mode];
      const stops = c.stops || [];
      const track = h("div", { class: "tl-track" },
        (c.shifts || []).map((s) => at(h("div", { class: "tl-shift",
          title: say(`班次 ${hhmm(s.start_time)}–${hhmm(s.end_time)}`, `Shift ${hhmm(s.start_time)}–${hhmm(s.end_time)}`) }),
        cstMinutes(s.start_time), cstMinutes(s.end_time) || 1440)),
        stops.map((st) => {
          const a = cstMinutes(st.start_time);
          const b = cstMinutes(st.end_time) || 1440;
          const travel = mins(st.travel_s || 0);
          const kind = st.kind === "planned" ? say("计划", "planned") : say("临时", "on demand");
          const when = st.late ? say("迟到", "late") : st.on_time ? say("准时", "on time") : "";
          const title = [`${hhmm(st.start_time)}–${hhmm(st.end_time)}`, st.resident_name, serviceName(services.get(st.service_code)) || st.service_code,
            kind, statusWord(st.request_status), when].filter(Boolean).join(" · ");
          return [
            st.travel_s ? at(h("div", { class: "tl-travel", dataset: { testid: "roster-travel" },
              title: say(`路上约 ${travel} 分钟，${(st.travel_m / 1000).toFixed(1)} 公里`, `about ${travel} min on the way, ${(st.travel_m / 1000).toFixed(1)} km`) },
            h("span", {}, say(`${travel}分`, `${travel}m`))), a - travel, a) : null,
            at(h("div", { class: `tl-stop tl-${st.kind}${st.late ? " tl-late" : ""}`, title,
              dataset: { testid: "roster-stop", kind: st.kind, plannedVisitId: st.planned_visit_id || "", requestId: st.request_id, late: String(!!st.late) } },
            h("span", {}, st.resident_name)), a, b),
          ];
        }));
      return h("div", { class: "tl-row", dataset: { testid: "roster-carer", providerId: c.provider_id } },
        h("div", { class: "tl-who" }, h("b", { dataset: { testid: "roster-carer-name" } }, c.name),
          h("span", { class: "muted" }, " ", mode ? say(mode[0], mode[1]) : say("未设工作时间", "no hours"),
            say(` · ${stops.length} 次`, ` · ${stops.length} visits`), c.off ? say(" · 休假", " · off") : "")),
        track);
    }),
    h("p", { class: "legend" }, h("span", { class: "sw tl-planned" }), " ", say("计划服务", "Planned"), "  ",
      h("span", { class: "sw tl-on_demand" }), " ", say("临时需求", "On demand"), "  ",
      h("span", { class: "sw tl-travel" }), " ", say("路上", "Travel"), "  ",
      h("span", { class: "sw tl-shift" }), " ", say("班次", "Shift")));
}
