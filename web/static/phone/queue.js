// The phone's offline queue of visit events (depart, arrive, complete). An
// event is stored first and sent afterwards, oldest first, so a dead zone
// loses nothing and the server sees the visit's events in the order they
// happened; the queue lives in storage (localStorage in the page) so it
// survives a reload or a killed browser. Each event carries an event_id the
// server dedupes by, so sending one again after a lost answer is safe, and
// the queue never holds two events with the same event_id.
//
// This module knows nothing of the page or the network: the page passes in
// how to send an event and what to do with the answers, so it can be tested
// under node (web/unit/).

const FIRST_BACKOFF_MS = 2000;
const MAX_BACKOFF_MS = 30000;

// An entry is { token, visit_id, tries, error, body: { event_id, type, ... } }.
export class EventQueue {
  // storage: an object with getItem/setItem (localStorage);
  // key: where the queue is stored;
  // send(entry): a promise of the server's answer;
  // retryable(err): whether a failed send may succeed later (the entry
  //   stays first and is sent again after a backoff) or is refused for good
  //   (the entry is dropped);
  // onSent(entry, answer), onRetry(err, entry), onRejected(err, entry):
  //   what the page does then; onChange(): the queue's content changed;
  // setTimer/clearTimer: setTimeout/clearTimeout, replaceable in tests.
  constructor({ storage, key, send, retryable, onSent = () => {}, onRetry = () => {}, onRejected = () => {}, onChange = () => {},
    setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (id) => clearTimeout(id) }) {
    Object.assign(this, { storage, key, send, retryable, onSent, onRetry, onRejected, onChange, setTimer, clearTimer });
    this.flushing = false;
    this.retryTimer = null;
    this.backoff = FIRST_BACKOFF_MS;
  }

  // items returns the queued entries, oldest first; a missing or unreadable
  // stored queue is an empty one.
  items() {
    try {
      const v = JSON.parse(this.storage.getItem(this.key));
      return Array.isArray(v) ? v : [];
    } catch {
      return [];
    }
  }

  save(q) {
    this.storage.setItem(this.key, JSON.stringify(q));
  }

  // add queues an entry at the end; an entry whose event_id is already
  // queued is ignored (it reports false).
  add(entry) {
    const q = this.items();
    if (q.some((e) => e.body.event_id === entry.body.event_id)) return false;
    q.push({ tries: 0, error: "", ...entry });
    this.save(q);
    return true;
  }

  // waiting reports whether an event of the visit is still queued.
  waiting(visitID) {
    return this.items().some((e) => e.visit_id === visitID);
  }

  drop(id) {
    this.save(this.items().filter((e) => e.body.event_id !== id));
    this.onChange();
  }

  update(id, patch) {
    this.save(this.items().map((e) => (e.body.event_id === id ? { ...e, ...patch } : e)));
  }

  // resetBackoff makes the next retry wait the shortest time again (the
  // network came back, or the provider asked to send now).
  resetBackoff() {
    this.backoff = FIRST_BACKOFF_MS;
  }

  // flush sends the queued entries oldest first; a retryable failure stops
  // it until the retry timer (or the next flush). A flush while one runs
  // does nothing: the running one sends what was added meanwhile.
  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    if (this.retryTimer !== null) this.clearTimer(this.retryTimer);
    this.retryTimer = null;
    try {
      for (;;) {
        const q = this.items();
        if (!q.length) {
          this.backoff = FIRST_BACKOFF_MS;
          break;
        }
        const ev = q[0];
        let answer;
        try {
          answer = await this.send(ev);
        } catch (err) {
          if (this.retryable(err)) {
            this.update(ev.body.event_id, { tries: ev.tries + 1, error: err.message });
            this.onRetry(err, ev);
            this.retryTimer = this.setTimer(() => this.flush(), this.backoff);
            this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
            break;
          }
          // Refused for good: sending it again cannot help.
          this.drop(ev.body.event_id);
          this.onRejected(err, ev);
          continue;
        }
        this.drop(ev.body.event_id);
        this.onSent(ev, answer);
      }
    } finally {
      this.flushing = false;
      this.onChange();
    }
  }
}
