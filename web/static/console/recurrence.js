// The care plan's recurrence builder, as pure functions (no DOM, no
// imports) so node's unit tests reach them (web/unit/recurrence.test.js):
// the builder's choices (daily; weekly on days; every N weeks on days;
// monthly on a day) to an RFC 5545 RRULE body and back, and a rule in words.

// DAYS are the weekdays as RRULE spells them, Monday first as a Chinese
// week is read, with their Chinese and English names.
export const DAYS = [["MO", "一", "Mon"], ["TU", "二", "Tue"], ["WE", "三", "Wed"], ["TH", "四", "Thu"], ["FR", "五", "Fri"], ["SA", "六", "Sat"], ["SU", "日", "Sun"]];

// toRRule turns the builder's choices {kind, days, interval, monthDay}
// into an RRULE body; days come out in week order.
export function toRRule(r) {
  const days = DAYS.map((d) => d[0]).filter((d) => r.days.includes(d));
  switch (r.kind) {
    case "daily": return "FREQ=DAILY";
    case "weekly": return "FREQ=WEEKLY;BYDAY=" + days.join(",");
    case "weeks": return `FREQ=WEEKLY;INTERVAL=${r.interval};BYDAY=` + days.join(",");
    case "monthly": return `FREQ=MONTHLY;BYMONTHDAY=${r.monthDay}`;
  }
  return "";
}

// fromRRule reads a rule the builder can write back into its choices; any
// other rule (written through the API) gives null and is kept as it is.
export function fromRRule(rule) {
  const parts = String(rule || "").toUpperCase().split(";").filter(Boolean).map((kv) => kv.split("="));
  const p = Object.fromEntries(parts);
  const known = new Set(["FREQ", "BYDAY", "INTERVAL", "BYMONTHDAY"]);
  if (parts.some(([k]) => !known.has(k))) return null;
  const days = p.BYDAY ? p.BYDAY.split(",") : [];
  if (days.some((d) => !DAYS.some((x) => x[0] === d))) return null; // "1MO" and the like
  const interval = Number(p.INTERVAL || 1);
  if (!Number.isInteger(interval) || interval < 1) return null;
  if (p.FREQ === "DAILY" && interval === 1 && !days.length && !p.BYMONTHDAY) return { kind: "daily", days, interval, monthDay: 1 };
  if (p.FREQ === "WEEKLY" && days.length && !p.BYMONTHDAY) return { kind: interval > 1 ? "weeks" : "weekly", days, interval, monthDay: 1 };
  if (p.FREQ === "MONTHLY" && interval === 1 && !days.length && /^([1-9]|[12]\d|3[01])$/.test(p.BYMONTHDAY || "")) {
    return { kind: "monthly", days, interval, monthDay: Number(p.BYMONTHDAY) };
  }
  return null;
}

// describeRRule says a rule in words with say(zh, en): 每周一、三 / every Mon, Wed.
export function describeRRule(rule, say) {
  const r = fromRRule(rule);
  if (!r) return say("自定义重复规则", "custom recurrence");
  const zh = r.days.map((d) => DAYS.find((x) => x[0] === d)[1]).join("、");
  const en = r.days.map((d) => DAYS.find((x) => x[0] === d)[2]).join(", ");
  switch (r.kind) {
    case "daily": return say("每天", "every day");
    case "weekly": return say(`每周${zh}`, `every ${en}`);
    case "weeks": return say(`每 ${r.interval} 周的周${zh}`, `every ${r.interval} weeks on ${en}`);
    default: return say(`每月 ${r.monthDay} 日`, `monthly on day ${r.monthDay}`);
  }
}
