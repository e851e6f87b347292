// The messages the browser extension sends, checked field by field (used by the native host and
// again by the agent's receiver). Anything else is dropped with a reason; the text itself never
// reaches a log.

/** Bounds, also applied by the extension before sending (agent/browser-extension/content.js). */
export const LIMITS = { url: 2048, title: 1024, pageText: 32 * 1024, typedText: 2048, version: 40 } as const;

export type BrowserMessage =
  | { kind: 'hello'; version: string }
  | { kind: 'page' | 'typed'; url: string; title: string; text: string }
  | { kind: 'url'; url: string; title: string };

export type Checked = { ok: true; message: BrowserMessage } | { ok: false; reason: string };

const KEYS: Record<string, readonly string[]> = {
  hello: ['kind', 'version'],
  page: ['kind', 'url', 'title', 'text'],
  typed: ['kind', 'url', 'title', 'text'],
  url: ['kind', 'url', 'title'],
};

function str(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}

/** Pure. Only http(s) pages count: the extension never sends browser-internal pages. */
export function checkBrowserMessage(raw: unknown): Checked {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, reason: 'not-an-object' };
  const o = raw as Record<string, unknown>;
  const kind = o['kind'];
  if (typeof kind !== 'string' || !Object.hasOwn(KEYS, kind)) return { ok: false, reason: 'unknown-kind' };
  const allowed = KEYS[kind]!;
  if (Object.keys(o).some((k) => !allowed.includes(k))) return { ok: false, reason: 'unexpected-field' };
  if (kind === 'hello')
    return str(o['version'], LIMITS.version)
      ? { ok: true, message: { kind, version: o['version'] } }
      : { ok: false, reason: 'bad-field' };
  const url = o['url'];
  const title = o['title'];
  if (!str(url, LIMITS.url) || !str(title, LIMITS.title)) return { ok: false, reason: 'bad-field' };
  if (!/^https?:\/\//i.test(url)) return { ok: false, reason: 'not-a-web-page' };
  if (kind === 'url') return { ok: true, message: { kind, url, title } };
  const text = o['text'];
  if (!str(text, kind === 'page' ? LIMITS.pageText : LIMITS.typedText))
    return { ok: false, reason: 'bad-field' };
  return { ok: true, message: { kind: kind as 'page' | 'typed', url, title, text } };
}

/** chrome-extension://<32 letters a-p>/ → the id; anything else → undefined. */
export function extensionIdFromOrigin(origin: string | undefined): string | undefined {
  const m = /^chrome-extension:\/\/([a-p]{32})\/$/.exec(origin ?? '');
  return m?.[1];
}
