// A carer's working hours, from the providers tab: the weekly shifts of
// each day, time off (whole days, from–to), the most visits and hours a day
// and the travel mode, read and saved with PlanService/Get- and
// SetWorkingHours. Operators and admins edit; supervisors see the same
// without a write control. A refusal is shown at the field the server
// names. The carer starts from home (the provider's location) unless hours
// saved earlier say otherwise.
import { TwirpError } from "/gen/carehex.js";
import { errorText } from "/i18n.js";
import { canWrite, isOrgRole, plans } from "./api.js";
import { byTestId, h, replace } from "./dom.js";
import { say } from "./labels.js";
import { cstDate, showFieldError } from "./plan.js";
import { DAYS } from "./recurrence.js";

// Monday first as DAYS reads; the server's weekday is 0 (Sunday) … 6.
const WEEKDAY = { MO: 1, TU: 2, WE: 3, TH: 4, FR: 5, SA: 6, SU: 0 };
const MODES = [["ebike", "电动车", "E-bike"], ["walk", "步行", "Walking"], ["car", "汽车", "Car"]];
const DAY_MS = 86400e3;

// hoursButton is the row's "工作时间" button: platform staff only (the
// server gives organisations no working hours).
export function hoursButton(p) {
  if (isOrgRole()) return null;
  return h("button", { type: "button", class: "plain small", dataset: { testid: "provider-hours" }, onclick: () => openHours(p) },
    say("工作时间", "Working hours"));
}

async function openHours(p) {
  const form = byTestId("hours-form");
  let hours;
  try {
    ({ hours } = await plans.getWorkingHours({ provider_id: p.id }));
  } catch (e) {
    if (!(e instanceof TwirpError && e.code === "not_found")) {
      replace(form, h("p", { class: "bad", role: "alert" }, errorText(e)));
      form.hidden = false;
      return;
    }
  }
  render(form, p, hours);
}

function render(form, p, hours) {
  const write = canWrite();
  const ro = write ? {} : { disabled: true };
  const wh = hours || { weekly: [], time_off: [], max_visits_per_day: 8, max_work_per_day_s: 8 * 3600, travel_mode: "ebike", home: p.location };
  const shift = (s = {}) => {
    const row = h("span", { class: "shift", dataset: { testid: "hours-shift" } },
      h("input", { type: "time", value: s.start || "08:00", dataset: { testid: "hours-shift-start" }, "aria-label": say("开始", "Start"), ...ro }), "–",
      h("input", { type: "time", value: s.end || "17:00", dataset: { testid: "hours-shift-end" }, "aria-label": say("结束", "End"), ...ro }),
      write ? h("button", { type: "button", class: "plain small", "aria-label": say("删除班次", "Remove shift"), onclick: () => row.remove() }, "×") : null, " ");
    return row;
  };
  const days = DAYS.map(([code, zh, en]) => {
    const list = h("span", { class: "shifts" }, wh.weekly.filter((s) => (s.weekday || 0) === WEEKDAY[code]).map(shift));
    return h("div", { class: "hours-day", dataset: { testid: "hours-day", day: code, weekday: String(WEEKDAY[code]) } },
      h("b", {}, say(`周${zh}`, en)), " ", list,
      write ? h("button", { type: "button", class: "plain small", dataset: { testid: "hours-add-shift" }, onclick: () => list.append(shift()) }, say("加班次", "Add shift")) : null);
  });
  const off = (o = {}) => {
    const row = h("div", { class: "hours-off", dataset: { testid: "hours-off" } },
      h("input", { type: "date", value: o.from_time ? cstDate(new Date(o.from_time)) : "", dataset: { testid: "hours-off-from" }, "aria-label": say("从", "From"), ...ro }), "–",
      h("input", { type: "date", value: o.to_time ? cstDate(new Date(Date.parse(o.to_time) - 1)) : "", dataset: { testid: "hours-off-to" }, "aria-label": say("到（含）", "To (inclusive)"), ...ro }), " ",
      h("input", { value: o.reason || "", maxlength: "400", placeholder: say("原因（如：病假）", "Reason (e.g. sick leave)"), dataset: { testid: "hours-off-reason" }, ...ro }),
      write ? h("button", { type: "button", class: "plain small", "aria-label": say("删除", "Remove"), onclick: () => row.remove() }, "×") : null);
    return row;
  };
  const offs = h("div", {}, (wh.time_off || []).map(off));
  replace(form,
    h("h3", {}, say(`工作时间：${p.name}`, `Working hours: ${p.name}`)),
    hours ? null : h("p", { class: "muted", dataset: { testid: "hours-none" } }, say("尚未设置工作时间，排班不会安排此人", "No working hours yet: the roster does not use this carer")),
    h("fieldset", { dataset: { field: "weekly" } }, h("legend", {}, say("每周班次", "Weekly shifts")), days),
    h("fieldset", { dataset: { field: "time_off" } }, h("legend", {}, say("休假", "Time off")), offs,
      write ? h("button", { type: "button", class: "plain small", dataset: { testid: "hours-add-off" }, onclick: () => offs.append(off()) }, say("加休假", "Add time off")) : null),
    h("div", { class: "pair" },
      h("label", {}, say("每天最多上门次数", "Most visits a day"), " ", h("input", { type: "number", min: "1", max: "48", name: "visits", value: String(wh.max_visits_per_day || 8), dataset: { testid: "hours-max-visits", field: "max_visits_per_day" }, ...ro })),
      h("label", {}, say("每天最多服务小时", "Most hours of service a day"), " ", h("input", { type: "number", min: "1", max: "16", step: "0.5", name: "work", value: String((wh.max_work_per_day_s || 8 * 3600) / 3600), dataset: { testid: "hours-max-work", field: "max_work_per_day" }, ...ro })),
      h("label", {}, say("出行方式", "Travel"), " ", h("select", { name: "mode", dataset: { testid: "hours-mode", field: "travel_mode" }, ...ro },
        MODES.map(([v, zh, en]) => h("option", { value: v, selected: wh.travel_mode === v }, say(zh, en)))))),
    h("div", { class: "actions" },
      write ? h("button", { type: "submit", dataset: { testid: "hours-save" } }, say("保存", "Save")) : null, " ",
      h("button", { type: "button", class: "plain", dataset: { testid: "hours-close" }, onclick: () => { form.hidden = true; form.replaceChildren(); } }, say("关闭", "Close"))),
    h("p", { class: "result", dataset: { testid: "hours-result" }, role: "status" }));
  form.onsubmit = (e) => { e.preventDefault(); if (write) save(form, p, wh); };
  form.hidden = false;
}

// cstMidnight is the start of a CST calendar day as an RFC 3339 time.
const cstMidnight = (date, plusDays = 0) => new Date(Date.parse(date + "T00:00:00+08:00") + plusDays * DAY_MS).toISOString();

async function save(form, p, wh) {
  const out = byTestId("hours-result", form);
  out.classList.remove("bad");
  out.textContent = "";
  // The server names a shift or an absence by its place in what is sent:
  // each row gets that name as its data-field before sending.
  const weekly = [];
  for (const day of form.querySelectorAll('[data-testid="hours-day"]')) {
    for (const row of day.querySelectorAll('[data-testid="hours-shift"]')) {
      const [start, end] = row.querySelectorAll("input");
      const i = weekly.length;
      row.dataset.field = `weekly[${i}]`;
      start.dataset.field = `weekly[${i}].start`;
      end.dataset.field = `weekly[${i}].end`;
      weekly.push({ weekday: Number(day.dataset.weekday), start: start.value, end: end.value });
    }
  }
  const timeOff = [];
  for (const row of form.querySelectorAll('[data-testid="hours-off"]')) {
    const [from, to, reason] = row.querySelectorAll("input");
    const i = timeOff.length;
    row.dataset.field = `time_off[${i}]`;
    from.dataset.field = `time_off[${i}].from_time`;
    to.dataset.field = `time_off[${i}].to_time`;
    reason.dataset.field = `time_off[${i}].reason`;
    timeOff.push({ from_time: from.value ? cstMidnight(from.value) : undefined, to_time: to.value ? cstMidnight(to.value, 1) : undefined, reason: reason.value.trim() });
  }
  const f = form.elements;
  const hours = {
    provider_id: p.id, weekly, time_off: timeOff, max_visits_per_day: Math.round(Number(f.visits.value)) || 0,
    max_work_per_day_s: Math.round(Number(f.work.value) * 3600) || 0, travel_mode: f.mode.value, home: wh.home || p.location,
  };
  let saved;
  try {
    ({ hours: saved } = await plans.setWorkingHours({ hours }));
  } catch (e) {
    // The store names fields without the request's "hours." and the
    // absences' ends as "to" and "from".
    const arg = (e?.meta?.argument || "").replace(/^hours\./, "").replace(/\.(from|to)$/, ".$1_time");
    showFieldError(form, Object.assign(Object.create(Object.getPrototypeOf(e)), e, { meta: { ...e.meta, argument: arg } }));
    return;
  }
  render(form, p, saved);
  const done = byTestId("hours-result", form);
  done.textContent = say("已保存", "Saved");
  done.dataset.saved = "true";
}
