// The outbox: a report waits in IndexedDB until the server has acknowledged it.
// Its UUID makes every retry idempotent, so sending again never makes a duplicate.

const DATABASE = "ohpunaises";
const STORE = "outbox";
const LAST_SENT = "ohpunaises.lastSent";
const SEND_TIMEOUT = 20000; // ms
const MAX_DELAY = 5 * 60 * 1000; // ms between retries, at most
const SIGN_IN = new Set([400, 401, 403]); // CSRF token or session gone: the agent signs in again
const REFUSED = new Set([409, 413, 415, 422]); // sending again would not help: the agent decides

let database;

function openDatabase() {
  database ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return database;
}

async function withStore(mode, work) {
  const db = await openDatabase();
  return new Promise((resolve, reject) => {
    // "strict": a write is on disk before it counts as done.
    const transaction = db.transaction(STORE, mode, { durability: "strict" });
    const request = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = transaction.onabort = () => reject(transaction.error);
  });
}

const allEntries = () => withStore("readonly", (store) => store.getAll());
const save = (entry) => withStore("readwrite", (store) => store.put(entry));
const drop = (id) => withStore("readwrite", (store) => store.delete(id));

export class Outbox extends EventTarget {
  constructor({ url, tokenUrl, user, csrfToken }) {
    super();
    Object.assign(this, { url, tokenUrl, user, csrfToken });
    this.failures = 0;
    this.timer = null;
    this.queue = Promise.resolve();
    this.signInNeeded = false;
  }

  // Keep a report; `replaces` is the entry it corrects, if any.
  async add(payload, replaces = null) {
    const entry = { id: payload.id, user: this.user, payload, state: "pending", queuedAt: Date.now() };
    await save(entry);
    if (replaces && replaces !== entry.id) await drop(replaces);
    this.changed();
    return entry;
  }

  async discard(id) {
    await drop(id);
    this.changed();
  }

  async has(id) {
    return (await allEntries()).some((entry) => entry.id === id);
  }

  async status() {
    const entries = await allEntries();
    const mine = entries.filter((entry) => entry.user === this.user);
    return {
      pending: mine.filter((entry) => entry.state === "pending").length,
      attention: mine.filter((entry) => entry.state === "attention"),
      others: entries.length - mine.length,
      lastSent: Number(localStorage.getItem(LAST_SENT)) || null,
      signInNeeded: this.signInNeeded,
    };
  }

  // Send what waits, one flush at a time; `first` goes before the others.
  // Resolves to a Map from report id to its outcome: sent, attention, retry or signin.
  flush(first = null) {
    const run = this.queue.then(() => this.drain(first));
    this.queue = run.catch(() => null);
    return run;
  }

  async drain(first) {
    clearTimeout(this.timer);
    this.signInNeeded = false;
    const results = new Map();
    const work = async () => {
      const waiting = (await allEntries())
        .filter((entry) => entry.user === this.user && entry.state === "pending")
        .sort((a, b) => (b.id === first) - (a.id === first) || a.queuedAt - b.queuedAt);
      for (const entry of waiting) {
        const outcome = await this.send(entry);
        results.set(entry.id, outcome);
        if (outcome.kind === "sent") this.dispatchEvent(new CustomEvent("sent", { detail: outcome.body }));
        if (outcome.kind === "retry" || outcome.kind === "signin") break;
      }
    };
    // Another tab may be sending the same outbox: one at a time (retries would be harmless).
    await (navigator.locks ? navigator.locks.request("ohpunaises-outbox", work) : work());
    const outcomes = [...results.values()].map((outcome) => outcome.kind);
    if (outcomes.includes("signin")) this.signInNeeded = true;
    if (outcomes.includes("retry")) this.later();
    else this.failures = 0;
    this.changed();
    return results;
  }

  async send(entry, tokenRefreshed = false) {
    let response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": this.csrfToken,
          "X-Ohpunaises-Source": "form",
        },
        body: JSON.stringify(entry.payload),
        signal: AbortSignal.timeout(SEND_TIMEOUT),
      });
    } catch {
      return { kind: "retry" };
    }
    const body = await response.json().catch(() => null);
    if (response.ok) {
      await drop(entry.id);
      localStorage.setItem(LAST_SENT, String(Date.now()));
      return { kind: "sent", body };
    }
    if (SIGN_IN.has(response.status)) {
      const token = tokenRefreshed ? "signin" : await this.refreshToken();
      if (token === "ok") return this.send(entry, true);
      return { kind: token === "offline" ? "retry" : "signin", body };
    }
    if (REFUSED.has(response.status)) {
      await save({ ...entry, state: "attention", problem: body ?? { status: response.status } });
      return { kind: "attention", body };
    }
    return { kind: "retry", body };
  }

  // The page (maybe served from the cache) may hold a CSRF token from an older session.
  async refreshToken() {
    try {
      const response = await fetch(this.tokenUrl, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return "signin";
      this.csrfToken = (await response.json()).csrf_token;
      return "ok";
    } catch {
      return "offline";
    }
  }

  // Exponential back-off with jitter: 2 s, 4 s, 8 s… up to 5 min.
  later() {
    this.failures += 1;
    const delay = Math.min(1000 * 2 ** this.failures, MAX_DELAY) * (0.75 + Math.random() / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), delay);
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}
