// Unit tests of the phone's offline event queue (web/static/phone/queue.js)
// under node's own test runner: node --test web/unit/ (make test runs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventQueue } from "../static/phone/queue.js";

// memoryStorage is localStorage's getItem/setItem over a Map; reusing one
// across two queues is a page reload.
function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
  };
}

class Refused extends Error {}
class Offline extends Error {}

// rig makes a queue whose send answers from a script: each call takes the
// next of answers ("ok", an Error to throw, or a function returning a
// promise), and records what it sent and what the page was told.
function rig({ storage = memoryStorage(), answers = [] } = {}) {
  const r = { sent: [], told: [], timers: [], cleared: [], storage };
  r.queue = new EventQueue({
    storage,
    key: "carehex.phone.queue",
    send: async (ev) => {
      r.sent.push(ev.body.event_id);
      const a = answers.shift() ?? "ok";
      if (typeof a === "function") return a(ev);
      if (a instanceof Error) throw a;
      return { event: { id: ev.body.event_id } };
    },
    retryable: (err) => err instanceof Offline,
    onSent: (ev, answer) => r.told.push(["sent", ev.body.event_id, answer.event.id]),
    onRetry: (err, ev) => r.told.push(["retry", ev.body.event_id, err.message]),
    onRejected: (err, ev) => r.told.push(["rejected", ev.body.event_id, err.message]),
    setTimer: (f, ms) => {
      r.timers.push({ f, ms });
      return r.timers.length;
    },
    clearTimer: (id) => r.cleared.push(id),
  });
  return r;
}

const entry = (id, visit = "vis_1", type = "depart") => ({
  token: "tok",
  visit_id: visit,
  body: { event_id: id, type, lat: 36.8, lng: 118.05, accuracy_m: 10, device_time: "2026-03-02T01:00:00Z" },
});

const ids = (q) => q.items().map((e) => e.body.event_id);

test("entries are kept in the order added and survive a reload", () => {
  const storage = memoryStorage();
  const a = rig({ storage });
  a.queue.add(entry("e1"));
  a.queue.add(entry("e2", "vis_1", "arrive"));
  a.queue.add(entry("e3", "vis_2"));
  const reloaded = rig({ storage });
  assert.deepEqual(ids(reloaded.queue), ["e1", "e2", "e3"]);
  assert.equal(reloaded.queue.items()[1].body.type, "arrive");
  assert.equal(reloaded.queue.items()[0].tries, 0);
  assert.ok(reloaded.queue.waiting("vis_2"));
  assert.ok(!reloaded.queue.waiting("vis_3"));
});

test("an event_id already queued is not queued twice", () => {
  const { queue } = rig();
  assert.equal(queue.add(entry("e1")), true);
  assert.equal(queue.add(entry("e1", "vis_1", "arrive")), false);
  assert.deepEqual(ids(queue), ["e1"]);
  assert.equal(queue.items()[0].body.type, "depart");
});

test("a missing or unreadable stored queue is empty", () => {
  const storage = memoryStorage();
  assert.deepEqual(rig({ storage }).queue.items(), []);
  storage.setItem("carehex.phone.queue", "{not json");
  assert.deepEqual(rig({ storage }).queue.items(), []);
  storage.setItem("carehex.phone.queue", '{"an":"object"}');
  const r = rig({ storage });
  assert.deepEqual(r.queue.items(), []);
  r.queue.add(entry("e1"));
  assert.deepEqual(ids(r.queue), ["e1"]);
});

test("flush sends oldest first, empties the queue and tells the page each answer", async () => {
  const r = rig();
  for (const id of ["e1", "e2", "e3"]) r.queue.add(entry(id));
  await r.queue.flush();
  assert.deepEqual(r.sent, ["e1", "e2", "e3"]);
  assert.deepEqual(r.told, [["sent", "e1", "e1"], ["sent", "e2", "e2"], ["sent", "e3", "e3"]]);
  assert.deepEqual(r.queue.items(), []);
  assert.deepEqual(r.timers, []);
});

test("a network failure keeps the event first and retries later with a growing backoff", async () => {
  const r = rig({ answers: [new Offline("offline"), new Offline("offline"), "ok"] });
  r.queue.add(entry("e1"));
  r.queue.add(entry("e2"));
  await r.queue.flush();
  assert.deepEqual(r.sent, ["e1"], "nothing after the failed event is sent: order holds");
  assert.deepEqual(ids(r.queue), ["e1", "e2"]);
  assert.equal(r.queue.items()[0].tries, 1);
  assert.equal(r.queue.items()[0].error, "offline");
  assert.deepEqual(r.told, [["retry", "e1", "offline"]]);
  assert.deepEqual(r.timers.map((t) => t.ms), [2000]);

  await r.timers[0].f(); // the retry timer fires: fails again, waits longer
  assert.equal(r.queue.items()[0].tries, 2);
  assert.deepEqual(r.timers.map((t) => t.ms), [2000, 4000]);
  assert.deepEqual(r.cleared, [1], "a flush cancels the pending retry timer");

  await r.timers[1].f(); // now the network is back
  assert.deepEqual(r.sent, ["e1", "e1", "e1", "e2"]);
  assert.deepEqual(r.queue.items(), []);
});

test("the backoff doubles up to 30 s and starts again after resetBackoff or an emptied queue", async () => {
  const r = rig({ answers: Array.from({ length: 7 }, () => new Offline("offline")) });
  r.queue.add(entry("e1"));
  for (let i = 0; i < 7; i++) await r.queue.flush();
  assert.deepEqual(r.timers.map((t) => t.ms), [2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  r.queue.resetBackoff();
  r.queue.add(entry("e2"));
  await r.queue.flush(); // answers "ok" from here on
  assert.deepEqual(r.queue.items(), []);
  const again = rig({ answers: [new Offline("offline")] });
  again.queue.add(entry("e3"));
  await again.queue.flush();
  assert.equal(again.timers.at(-1).ms, 2000);
});

test("an event refused for good is dropped and the next one is sent", async () => {
  const r = rig({ answers: [new Refused("visit cancelled")] });
  r.queue.add(entry("e1"));
  r.queue.add(entry("e2", "vis_2"));
  await r.queue.flush();
  assert.deepEqual(r.sent, ["e1", "e2"]);
  assert.deepEqual(r.told, [["rejected", "e1", "visit cancelled"], ["sent", "e2", "e2"]]);
  assert.deepEqual(r.queue.items(), []);
  assert.deepEqual(r.timers, []);
});

test("a flush while one runs does nothing; events added meanwhile go out after, in order", async () => {
  let release;
  const held = new Promise((ok) => (release = ok));
  const r = rig({ answers: [() => held.then(() => ({ event: { id: "e1" } }))] });
  r.queue.add(entry("e1"));
  const first = r.queue.flush();
  // send of e1 has been called and waits for its answer.
  assert.deepEqual(r.sent, ["e1"]);
  r.queue.add(entry("e2"));
  await r.queue.flush(); // returns at once: the first flush owns the queue
  assert.deepEqual(r.sent, ["e1"]);
  release();
  await first;
  assert.deepEqual(r.sent, ["e1", "e2"]);
  assert.deepEqual(r.queue.items(), []);
});

test("an event stays queued until its answer arrives (a reload mid-send resends it)", async () => {
  let release;
  const held = new Promise((ok) => (release = ok));
  const storage = memoryStorage();
  const r = rig({ storage, answers: [() => held.then(() => ({ event: { id: "e1" } }))] });
  r.queue.add(entry("e1"));
  const flushing = r.queue.flush();
  assert.deepEqual(ids(rig({ storage }).queue), ["e1"], "the stored queue still holds the event in flight");
  release();
  await flushing;
  assert.deepEqual(ids(rig({ storage }).queue), []);
});
