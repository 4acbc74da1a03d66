// Unit tests of the care plan's recurrence builder
// (web/static/console/recurrence.js): node --test web/unit/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeRRule, fromRRule, toRRule } from "../static/console/recurrence.js";

const zh = (z) => z;
const en = (_, e) => e;

test("each builder choice writes the RRULE the server expands, and reads back the same", () => {
  const cases = [
    [{ kind: "daily", days: [], interval: 1, monthDay: 1 }, "FREQ=DAILY"],
    [{ kind: "weekly", days: ["FR", "MO"], interval: 1, monthDay: 1 }, "FREQ=WEEKLY;BYDAY=MO,FR"],
    [{ kind: "weeks", days: ["TU"], interval: 2, monthDay: 1 }, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"],
    [{ kind: "monthly", days: [], interval: 1, monthDay: 15 }, "FREQ=MONTHLY;BYMONTHDAY=15"],
  ];
  for (const [choice, rule] of cases) {
    assert.equal(toRRule(choice), rule);
    const back = fromRRule(rule);
    assert.equal(back.kind, choice.kind, rule);
    assert.equal(toRRule(back), rule, `${rule} round trip`);
  }
  assert.equal(fromRRule("freq=weekly;byday=we").kind, "weekly", "rules are case-insensitive, as the server's");
});

test("rules the builder cannot write are kept as custom, not misread", () => {
  for (const rule of ["FREQ=WEEKLY;BYDAY=1MO", "FREQ=MONTHLY;BYDAY=MO", "FREQ=DAILY;INTERVAL=3", "FREQ=YEARLY",
    "FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=WEEKLY;BYDAY=MO;COUNT=4", "FREQ=WEEKLY;INTERVAL=0;BYDAY=MO", ""]) {
    assert.equal(fromRRule(rule), null, rule);
    assert.equal(describeRRule(rule, zh), "自定义重复规则", rule);
  }
});

test("a rule in words, Chinese and English", () => {
  assert.equal(describeRRule("FREQ=DAILY", zh), "每天");
  assert.equal(describeRRule("FREQ=WEEKLY;BYDAY=MO,WE,FR", zh), "每周一、三、五");
  assert.equal(describeRRule("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", zh), "每 2 周的周五");
  assert.equal(describeRRule("FREQ=MONTHLY;BYMONTHDAY=1", zh), "每月 1 日");
  assert.equal(describeRRule("FREQ=WEEKLY;BYDAY=TU,TH", en), "every Tue, Thu");
});
