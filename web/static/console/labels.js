// Names shown for the wire's enums and codes, Chinese first, English on the switch.
import { reasonText } from "/i18n.js";
export const isEnglish = () => document.documentElement.lang === "en";
export const say = (zh, en) => (isEnglish() ? en : zh);

const STATUS = {
  REQUEST_STATUS_PENDING: ["待派单", "Pending"],
  REQUEST_STATUS_OFFERED: ["已推送", "Offered"],
  REQUEST_STATUS_ASSIGNED: ["已接单", "Assigned"],
  REQUEST_STATUS_EN_ROUTE: ["在途", "En route"],
  REQUEST_STATUS_IN_PROGRESS: ["服务中", "In progress"],
  REQUEST_STATUS_COMPLETED: ["已完成", "Completed"],
  REQUEST_STATUS_CANCELLED: ["已取消", "Cancelled"],
  REQUEST_STATUS_UNFILLED: ["无人接单", "Unfilled"],
};

const URGENCY = {
  URGENCY_EMERGENCY: ["紧急", "Emergency"],
  URGENCY_SOON: ["尽快", "Soon"],
  URGENCY_SCHEDULED: ["预约", "Scheduled"],
};

const pick = (pair, fallback) => (pair ? say(pair[0], pair[1]) : fallback);

export const statusName = (s) => pick(STATUS[s], s);
export const urgencyName = (u) => pick(URGENCY[u], u);

// statusKey is the short machine name: REQUEST_STATUS_EN_ROUTE → en_route.
export const statusKey = (s) => String(s).replace(/^REQUEST_STATUS_/, "").toLowerCase();

// serviceName is a catalogue entry's name in the current language.
export const serviceName = (st) => (st ? say(st.name_zh, st.name_en) : "");

// targetS is how long a request may wait for its provider to arrive before
// the board shows it late: by the service's urgency class; a scheduled
// request is measured against the start of its window instead.
export function targetS(st, req) {
  if (req && req.urgency === "URGENCY_SCHEDULED" && req.window_start_time) return null;
  const cls = req && req.urgency === "URGENCY_EMERGENCY" ? "emergency" : st?.urgency_class;
  return { emergency: 15 * 60, soon: 2 * 3600, scheduled: 24 * 3600 }[cls] || 2 * 3600;
}

// ago is a short "12 min" style duration.
export function ago(s) {
  s = Math.max(0, Math.floor(s));
  if (s < 60) return s + say(" 秒", " s");
  if (s < 3600) return Math.floor(s / 60) + say(" 分", " min");
  return Math.floor(s / 3600) + say(" 时 ", " h ") + Math.floor((s % 3600) / 60) + say(" 分", " min");
}

export function timeOf(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  return d.toLocaleString(isEnglish() ? "en-GB" : "zh-CN", { hour12: false });
}

// Why a request was cancelled: the codes IntakeService/CancelServiceRequest
// takes, in the order the console offers them; their words are the
// catalogue's reasons (messages.js, reasonText).
export const CANCEL_REASONS = ["caller_cancelled", "duplicate", "resolved_by_phone", "hospitalised", "other"];

// cancelReasonText renders a stored cancel reason: "hospitalised: 已住院"
// becomes "老人住院：已住院"; free text (from before the codes) is shown as is.
export const cancelReasonText = (reason) => reasonText(reason);

// Why a resident is no longer served: the codes of ResidentService/DeactivateResident.
export const DEACTIVATE_REASONS = ["moved_away", "deceased", "care_home", "other"];

// deactivateReasonText renders a stored deactivation reason like cancelReasonText.
export const deactivateReasonText = (reason) => reasonText(reason);

// What the operator did about an emergency nobody accepted: the step codes
// of IntakeService/RecordEscalationStep, in the order the panel offers them.
export const ESCALATION_STEPS = ["called_120", "called_contact", "phoned_carer"];

// escalationText renders a stored step: "called_contact: 李勇（儿子）"
// becomes "已联系紧急联系人：李勇（儿子）".
export const escalationText = (reason) => reasonText(reason);
