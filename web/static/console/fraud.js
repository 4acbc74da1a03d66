// Fraud review (issue 12): the visits the fraud signals flagged, held back
// from payment until an operator clears them, each with the figures that
// raised it; and the photos of a visit, fetched only when asked for (every
// look is in the audit trail, FraudService/GetVisitPhoto). Supervisors
// read; operators and admins clear or confirm with a reason.
import { FraudService } from "/gen/carehex.js";
import { errorText } from "/i18n.js";
import { canWrite, session } from "./api.js";
import { byTestId, h, replace } from "./dom.js";
import { say, timeOf } from "./labels.js";

const fraud = new FraudService({ token: () => session.get()?.token });

const SIGNALS = {
  impossible_travel: ["行程速度不可能", "Impossible travel"],
  repeated_gps: ["多次定位完全相同", "Identical GPS points"],
  carer_hours_over_cap: ["护理员当日时长超上限", "Carer's hours over the cap"],
  resident_hours_over_cap: ["老人当日服务时长超上限", "Resident's hours over the cap"],
  no_movement: ["两次签到间未移动", "No movement between check-ins"],
  shared_photo: ["照片与其他服务相同", "Same photo on other visits"],
};
const STATUSES = { open: ["待审核", "Open"], cleared: ["已排除", "Cleared"], confirmed: ["已确认", "Confirmed"], "": ["全部", "All"] };
const FIGURES = {
  distance_m: ["距离（米）", "distance (m)"], minutes: ["间隔（分钟）", "minutes"], speed_kmh: ["速度（公里/时）", "speed (km/h)"],
  max_kmh: ["上限（公里/时）", "limit (km/h)"], mode: ["出行方式", "travel mode"], prev_visit: ["上一单", "previous visit"],
  point: ["坐标", "point"], visits: ["涉及服务数", "visits"], visit_ids: ["服务记录", "visits"], day: ["日期", "day"],
  worked_min: ["当日工作（分钟）", "worked (min)"], served_min: ["当日受服务（分钟）", "served (min)"], cap_min: ["上限（分钟）", "cap (min)"],
  carers: ["护理员人数", "carers"], moved: ["订单曾转派", "order moved"], moved_m: ["移动（米）", "moved (m)"],
  homes_apart_m: ["两户相距（米）", "homes apart (m)"], sha256: ["照片哈希", "photo hash"],
};
const pair = (m, k) => (m[k] ? say(m[k][0], m[k][1]) : k);

let filter = "open";
let sig = ""; // what is on screen: redrawn only when it changes, so shown photos stay

function figures(json) {
  let ev = {};
  try { ev = JSON.parse(json || "{}"); } catch { /* shown as nothing */ }
  return h("dl", { class: "figures" }, Object.entries(ev).map(([k, v]) => [
    h("dt", {}, pair(FIGURES, k)),
    h("dd", {}, Array.isArray(v) ? v.join(", ") : typeof v === "boolean" ? (v ? say("是", "yes") : say("否", "no")) : String(v)),
  ]));
}

async function review(f, decision, out) {
  const reason = prompt(decision === "cleared" ? say("排除理由（必填）", "Why it is innocent (required)")
    : say("确认理由（必填）", "Why it is confirmed (required)"));
  if (reason === null) return;
  try {
    await fraud.reviewFraudFlag({ flag_id: f.id, decision, reason });
    sig = "";
    await refreshFraud();
  } catch (e) {
    out.textContent = errorText(e);
  }
}

function row(f) {
  const out = h("p", { class: "result", role: "status" });
  const photos = h("div", { class: "photos" });
  return h("li", { dataset: { testid: "fraud-flag", flagId: f.id, visitId: f.visit_id, signal: f.signal, status: f.status } },
    h("b", {}, pair(SIGNALS, f.signal)), " · ", pair(STATUSES, f.status), " · ",
    say("服务记录 ", "visit "), f.visit_id, " · ", say("完成于 ", "finished "), f.finish_time ? timeOf(f.finish_time) : "—",
    figures(f.evidence_json),
    f.review_reason ? h("p", { class: "muted" }, f.review_actor, "：", f.review_reason) : null,
    h("button", { type: "button", dataset: { testid: "fraud-photos" }, onclick: () => showPhotos(photos, f.visit_id) },
      say("查看现场照片", "Show photos")),
    canWrite() && f.status !== "cleared" ? h("button", { type: "button", dataset: { testid: "fraud-clear" },
      onclick: () => review(f, "cleared", out) }, say("排除（可结算）", "Clear (payable)")) : null,
    canWrite() && f.status === "open" ? h("button", { type: "button", dataset: { testid: "fraud-confirm" },
      onclick: () => review(f, "confirmed", out) }, say("确认异常（暂扣）", "Confirm (hold back)")) : null,
    out, photos);
}

// showPhotos fills el with a visit's photos (each look audited).
export async function showPhotos(el, visitId) {
  try {
    const { photos = [], required } = await fraud.listVisitPhotos({ visit_id: visitId });
    const items = [];
    for (const p of photos) {
      const { data } = await fraud.getVisitPhoto({ visit_id: visitId, photo_id: p.id });
      items.push(h("figure", { dataset: { testid: "visit-photo", sha256: p.sha256 } },
        h("img", { src: `data:${p.content_type};base64,${data}`, alt: p.stage, width: 160 }),
        h("figcaption", {}, p.stage === "arrive" ? say("到达（服务前）", "arrival (before)") : say("完成（服务后）", "completion (after)"),
          " · ", timeOf(p.create_time), " · ", p.sha256.slice(0, 12))));
    }
    replace(el, items.length ? items : h("p", { class: "muted", dataset: { testid: "no-photos" } },
      required ? say("合同要求拍照，但本次服务没有照片", "The contract requires photos; this visit has none")
        : say("本次服务没有照片", "No photos for this visit")));
  } catch (e) {
    replace(el, h("p", { class: "result" }, errorText(e)));
  }
}

// refreshFraud redraws the list of flagged visits.
export async function refreshFraud() {
  const pane = byTestId("fraud");
  if (!pane) return;
  const { flags = [] } = await fraud.listFraudFlags({ status: filter, limit: 200 });
  const now = JSON.stringify([filter, flags, document.documentElement.lang]);
  if (now === sig) return;
  sig = now;
  const select = h("select", { dataset: { testid: "fraud-filter" }, onchange: (e) => { filter = e.target.value; sig = ""; refreshFraud(); } },
    Object.keys(STATUSES).map((k) => h("option", { value: k, selected: k === filter }, pair(STATUSES, k))));
  replace(pane,
    h("p", { class: "muted" }, say("被标记的服务在审核排除前暂不结算。", "Flagged visits are held back from payment until cleared."), " ", select),
    flags.length ? h("ul", { class: "fraud-flags", dataset: { testid: "fraud-flags" } }, flags.map(row))
      : h("p", { class: "muted", dataset: { testid: "no-fraud-flags" } }, say("没有被标记的服务", "No flagged visits")));
}
