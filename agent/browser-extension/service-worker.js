// Custodian extension, service worker: one native-messaging port to the agent's host; messages
// from the content scripts go through it. While the port is down (agent stopped, host refused)
// they wait in a bounded in-memory queue (oldest dropped first) and the port is retried with
// backoff. Nothing is written to browser storage; there is no keyword list and no matching here:
// the agent matches.

const HOST = 'uk.custodian.agent';
const MAX_QUEUE = 200;
const MAX_BACKOFF_MS = 60_000;

/** @type {chrome.runtime.Port | null} */
let port = null;
/** @type {object[]} */
const queue = [];
let backoff = 1000;
let retryTimer = null;

function connect() {
  retryTimer = null;
  let p;
  try {
    p = chrome.runtime.connectNative(HOST);
  } catch {
    scheduleRetry();
    return;
  }
  port = p;
  p.onDisconnect.addListener(() => {
    // Reading lastError marks it handled (no "Unchecked runtime.lastError" noise).
    void chrome.runtime.lastError;
    if (port === p) port = null;
    scheduleRetry();
  });
  p.onMessage.addListener(() => {});
  p.postMessage({ kind: 'hello', version: chrome.runtime.getManifest().version });
  flush();
  // A host that stays up for 5 s was accepted: start backing off from the bottom again.
  setTimeout(() => {
    if (port === p) backoff = 1000;
  }, 5000);
}

function scheduleRetry() {
  if (retryTimer !== null) return;
  retryTimer = setTimeout(connect, backoff);
  backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
}

function flush() {
  while (port && queue.length > 0) {
    const m = queue.shift();
    try {
      port.postMessage(m);
    } catch {
      queue.unshift(m);
      port = null;
      scheduleRetry();
      return;
    }
  }
}

function send(m) {
  queue.push(m);
  while (queue.length > MAX_QUEUE) queue.shift();
  if (port) flush();
  else scheduleRetry();
}

chrome.runtime.onMessage.addListener((msg, sender) => {
  // Only our own content scripts, only from normal tabs (never incognito: not_allowed anyway).
  if (sender.id !== chrome.runtime.id || !sender.tab || sender.tab.incognito) return;
  if (!msg || typeof msg !== 'object') return;
  const kind = msg.kind;
  if (kind !== 'page' && kind !== 'typed' && kind !== 'url') return;
  // The window is the tab (its URL and title), also for text from a frame inside it.
  const url = String(sender.tab.url || sender.url || '').slice(0, 2048);
  if (!/^https?:\/\//i.test(url)) return;
  const title = String(sender.tab.title || msg.title || '').slice(0, 1024);
  if (kind === 'url') send({ kind, url, title });
  else send({ kind, url, title, text: String(msg.text || '').slice(0, kind === 'page' ? 32768 : 2048) });
});

connect();
