// The collector's live feeds (Server-Sent Events over the session cookie): the device/status
// feed for IT staff and the alert feed for safeguarding staff (kept apart on the server so
// alert content never reaches an IT screen). Pages subscribe by message type and unsubscribe
// when they are left. EventSource reconnects by itself; status listeners learn whether the
// feeds are up so pages can say so.

/** Which feeds each role opens. */
const FEEDS = {
  admin: ['/api/v1/live'],
  it: ['/api/v1/live'],
  dsl: ['/api/v1/live', '/api/v1/alerts/live'],
  governor: [],
};

/** The named SSE events the collector sends; each carries a JSON body. */
const TYPES = ['status', 'device', 'event', 'alert', 'policy', 'hello'];

/** @type {Map<string, { source: EventSource, up: boolean }>} */
const sources = new Map();
/** @type {Map<string, Set<(data: any) => void>>} */
const listeners = new Map();
/** @type {Set<(up: boolean) => void>} */
const statusListeners = new Set();
let lastUp = false;

function allUp() {
  if (sources.size === 0) return false;
  for (const s of sources.values()) if (!s.up) return false;
  return true;
}

function announce() {
  const up = allUp();
  if (up === lastUp) return;
  lastUp = up;
  for (const fn of statusListeners) fn(up);
}

/** @param {string} type @param {any} data */
function dispatch(type, data) {
  for (const fn of listeners.get(type) ?? []) fn(data);
  for (const fn of listeners.get('*') ?? []) fn({ type, data });
}

/** @param {MessageEvent} ev @param {string} type */
function handle(ev, type) {
  let data;
  try {
    data = JSON.parse(ev.data);
  } catch {
    return; // a malformed message is dropped, never evaluated
  }
  dispatch(type === 'message' ? String(data?.type ?? 'message') : type, data);
}

/** Opens the feeds for a role (idempotent). @param {string} role */
export function connectLive(role) {
  const urls = FEEDS[/** @type {keyof typeof FEEDS} */ (role)] ?? [];
  for (const url of urls) {
    // A feed the server refused (e.g. before a forced password change) is CLOSED for good: open it anew.
    if (sources.get(url)?.source.readyState === EventSource.CLOSED) sources.delete(url);
    if (sources.has(url)) continue;
    const source = new EventSource(url, { withCredentials: true });
    const entry = { source, up: false };
    sources.set(url, entry);
    source.onopen = () => {
      entry.up = true;
      announce();
    };
    source.onerror = () => {
      entry.up = false;
      announce();
    };
    source.onmessage = (ev) => handle(ev, 'message');
    for (const type of TYPES)
      source.addEventListener(type, (ev) => handle(/** @type {MessageEvent} */ (ev), type));
  }
}

export function disconnectLive() {
  for (const { source } of sources.values()) source.close();
  sources.clear();
  announce();
}

/**
 * Subscribes to a message type ('*' for all); returns the unsubscribe function.
 * @param {string} type @param {(data: any) => void} fn
 */
export function onLive(type, fn) {
  let set = listeners.get(type);
  if (!set) {
    set = new Set();
    listeners.set(type, set);
  }
  set.add(fn);
  return () => set.delete(fn);
}

/** @param {(up: boolean) => void} fn */
export function onLiveStatus(fn) {
  statusListeners.add(fn);
  fn(allUp());
  return () => statusListeners.delete(fn);
}
