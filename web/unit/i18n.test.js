// The message renderer of web/static/i18n.js, in Node: every code of the
// catalogue renders in both languages without a leftover {placeholder},
// and errors render from their meta code and params.
import { test } from "node:test";
import assert from "node:assert/strict";

const store = new Map();
globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, String(v)) };
const { msg, errorText, registerNames, reasonText } = await import("../static/i18n.js");
const { default: CATALOGUE } = await import("../static/messages.js");

const sample = { field: "notes", max: "2000", role: "supervisor", method: "IntakeService/CreateServiceRequest", from: "completed", to: "cancelled",
  status: "assigned", skill: "meal_service", service_code: "DL-MEAL-DELIVERY", radius_m: "5000", after_s: "180", retry_after_s: "60",
  planned_start_time: "2026-12-03T02:00:00Z", planned_end_time: "2026-12-03T03:00:00Z", reason: "too_far", count: "2", days: "90",
  kind: "provider", text: "老人要上厕所" };

test("every code renders in zh and en with its parameters filled", () => {
  registerNames("service", [{ code: "DL-MEAL-DELIVERY", name_zh: "送餐上门", name_en: "Meal delivery" }]);
  registerNames("skill", [{ code: "meal_service", name_zh: "助餐", name_en: "Meal service" }]);
  for (const lang of ["zh", "en"]) {
    localStorage.setItem("carehex.lang", lang);
    for (const code of Object.keys(CATALOGUE.messages)) {
      const out = msg(code, sample);
      assert.ok(out.length > 0, `${lang} ${code} is empty`);
      assert.doesNotMatch(out, /\{[a-z_]+\}/, `${lang} ${code} left a placeholder: ${out}`);
      if (lang === "zh") assert.doesNotMatch(out.replace("IntakeService/CreateServiceRequest", ""), /[a-z]{3,}|_/, `zh ${code} carries English: ${out}`);
    }
  }
});

test("errors render from meta code and params", () => {
  localStorage.setItem("carehex.lang", "zh");
  const e = { code: "invalid_argument", msg: "notes must be valid text of at most 2000 characters", meta: { argument: "notes", code: "invalid_text", params: '{"field":"notes","max":"2000"}' } };
  assert.equal(errorText(e), "备注须为文字，最多 2000 字");
  assert.equal(errorText({ code: "permission_denied", meta: { code: "forbidden_role", params: '{"role":"supervisor","method":"X/Y"}' } }), "督导账号无权进行此操作");
  assert.equal(errorText(new TypeError("Failed to fetch")), "系统暂时不可用，请稍后重试");
  localStorage.setItem("carehex.lang", "en");
  assert.equal(errorText(e), "notes must be text of at most 2000 characters");
});

test("reasons: codes, code with words, and words alone", () => {
  localStorage.setItem("carehex.lang", "zh");
  assert.equal(reasonText("hospitalised: 已住院"), "老人住院：已住院");
  assert.equal(reasonText("too_far"), "距离太远");
  assert.equal(reasonText("家里没人"), "家里没人");
});
