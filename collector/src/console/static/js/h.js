// DOM building without HTML parsing. Every string from a device or a person becomes a text node
// or an attribute value through these helpers — never innerHTML — so a title such as
// `<img src=x onerror=alert(1)>` is shown as those characters and nothing runs.

/**
 * Creates an element. `attrs`: `class`, `for`, `aria-*`, `data-*`, plain attributes; functions
 * named `on…` become event listeners; `false`/null/undefined attributes are left out.
 * Children: strings and numbers become text nodes, arrays are flattened, null/false skipped.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
      } else if (key === 'value' && 'value' in el) {
        /** @type {HTMLInputElement} */ (el).value = String(value);
      } else if (key === 'checked' || key === 'selected' || key === 'disabled') {
        /** @type {any} */ (el)[key] = Boolean(value);
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

/** @param {Node} parent @param {unknown[]} children */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the content of `el` with `children`. @param {Element} el @param {...unknown} children */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Bidirectional overrides/isolates and marks (U+202A–202E, U+2066–2069, U+200E/F, U+061C) can
// make "gpj.exe" read as "exe.jpg"; C0/C1 controls can hide text. Both become visible markers.
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/**
 * Makes attacker-controlled text safe to read: bidi controls shown as ⟦U+202E⟧, other control
 * characters as U+FFFD, newlines and tabs as spaces.
 * @param {unknown} value
 * @returns {string}
 */
export function neutralise(value) {
  const s = value === null || value === undefined ? '' : String(value);
  return s
    .replace(BIDI, (c) => `⟦U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟧`)
    .replace(/[\r\n\t]/g, ' ')
    .replace(CONTROL, '\uFFFD');
}

/**
 * Cuts `s` to at most `max` code points (never splitting a surrogate pair) and says whether it cut.
 * @param {string} s @param {number} max
 * @returns {{ text: string, cut: boolean }}
 */
export function truncate(s, max) {
  const points = Array.from(s);
  if (points.length <= max) return { text: s, cut: false };
  return { text: `${points.slice(0, max).join('')}…`, cut: true };
}

/** Longest text kept in a title attribute (a tooltip of 10 kB helps nobody). */
const TITLE_MAX = 1000;

/**
 * Attacker-controlled text as an inert, bidi-isolated span, truncated to `max` characters with the
 * longer text in its title attribute.
 * @param {unknown} value @param {number} [max]
 */
export function ext(value, max = 80) {
  const clean = neutralise(value);
  const { text, cut } = truncate(clean, max);
  const span = h('span', { class: 'ext', dir: 'ltr' }, text);
  if (cut) span.title = truncate(clean, TITLE_MAX).text;
  return span;
}

/**
 * Like ext(), with a "show more" button that reveals up to `limit` characters in place.
 * @param {unknown} value @param {number} [max] @param {number} [limit]
 */
export function extLong(value, max = 300, limit = 20000) {
  const clean = neutralise(value);
  const short = truncate(clean, max);
  if (!short.cut) return h('span', { class: 'ext', dir: 'ltr' }, clean);
  const span = h('span', { class: 'ext', dir: 'ltr' }, short.text);
  const full = truncate(clean, limit);
  let open = false;
  const button = h('button', {
    type: 'button',
    class: 'link',
    'aria-expanded': 'false',
    onclick: () => {
      open = !open;
      span.textContent = open ? full.text : short.text;
      button.textContent = open ? 'show less' : `show more (${Array.from(clean).length} characters)`;
      button.setAttribute('aria-expanded', String(open));
    },
  });
  button.textContent = `show more (${Array.from(clean).length} characters)`;
  return h('span', null, span, ' ', button);
}

/** @param {number | string | null | undefined} ms */
export function fmtTime(ms) {
  if (ms === null || ms === undefined || ms === '') return '—';
  const d = new Date(typeof ms === 'string' && /^\d+$/.test(ms) ? Number(ms) : ms);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}

/** "3 min ago" style age of a timestamp. @param {number | null | undefined} ms @param {number} [now] */
export function fmtAgo(ms, now = Date.now()) {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** @param {number | null | undefined} bytes */
export function fmtBytes(bytes) {
  if (!bytes && bytes !== 0) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** A labelled form field. @param {string} label @param {HTMLElement} control @param {string} [hint] */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('small', { class: 'muted' }, hint) : null,
  );
}

/** Status badge. @param {string} text @param {string} [kind] */
export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}
