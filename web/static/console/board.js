// The live dispatch board: every open request in a column by status, with
// the time since it was logged coloured against its service's target.
import { intake, mayReadResident } from "./api.js";
import { resident, services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { ago, say, serviceName, statusKey, statusName, targetS, urgencyName } from "./labels.js";

export const OPEN = [
  "REQUEST_STATUS_PENDING", "REQUEST_STATUS_OFFERED", "REQUEST_STATUS_ASSIGNED",
  "REQUEST_STATUS_EN_ROUTE", "REQUEST_STATUS_IN_PROGRESS",
];

let onOpen = () => {};
let last = [];

export function setupBoard(openHandler) { onOpen = openHandler; }

// refreshBoard fetches the open requests and redraws the board.
export async function refreshBoard() {
  const { requests } = await intake.listServiceRequests({ statuses: OPEN, limit: 200 });
  last = requests;
  await Promise.all(requests.map((r) => (mayReadResident(r) ? resident(r.resident_id).catch(() => null) : null)));
  await draw();
  return requests;
}

export const openRequests = () => last;

async function draw() {
  const names = new Map();
  for (const r of last) {
    const who = mayReadResident(r) ? await resident(r.resident_id).catch(() => null) : null;
    names.set(r.resident_id, who?.name || say("老人（接单后显示）", "Elder (shown once assigned)"));
  }
  const now = Date.now();
  const cols = OPEN.map((s) => {
    const rs = last.filter((r) => r.status === s);
    return h("div", { class: "col", dataset: { testid: "board-col-" + statusKey(s) } },
      h("h3", {}, statusName(s), " ", h("span", { class: "count" }, rs.length)),
      rs.map((r) => card(r, names.get(r.resident_id), now)));
  });
  replace(byTestId("board"), cols);
}

function card(r, name, now) {
  const st = services.get(r.service_code);
  const age = (now - Date.parse(r.create_time)) / 1000;
  const target = targetS(st, r);
  const late = target ? age / target : 0;
  const level = late >= 1 ? "late" : late >= 0.5 ? "warn" : "ok";
  return h("button", {
    type: "button", class: `req ${r.urgency === "URGENCY_EMERGENCY" ? "emergency" : ""}`,
    dataset: { testid: "board-card", requestId: r.id, status: statusKey(r.status) },
    onclick: () => onOpen(r.id),
  },
  h("span", { class: "who" }, name),
  h("span", { class: "what" }, serviceName(st) || r.service_code),
  h("span", { class: "urg" }, urgencyName(r.urgency)),
  // The carer who took it, with their work phone (staff numbers are shown).
  r.provider_name ? h("span", { class: "carer", dataset: { testid: "board-carer" } }, r.provider_name, " ", r.provider_phone || "") : null,
  h("span", {
    class: "age " + level, dataset: { testid: "board-age", level },
    title: target ? say(`目标 ${ago(target)}`, `target ${ago(target)}`) : say("预约", "scheduled"),
  }, ago(age)));
}
