// Small shared pieces of page UI: error boxes, loading text, tables, pagination buttons.
import { h } from './h.js';

/** @param {unknown} err */
export function renderError(err) {
  const e = /** @type {any} */ (err);
  const status = e?.status === 403 ? 'You do not have access to this.' : null;
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('strong', null, status ?? 'Something went wrong. '),
    ' ',
    String(e?.message ?? e),
    e?.code ? h('code', { class: 'muted' }, ` ${e.code}`) : null,
  );
}

/** @param {string} [what] */
export function loading(what = 'Loading') {
  return h('p', { class: 'muted', 'aria-busy': 'true' }, `${what}…`);
}

/**
 * A table with a caption for screen readers.
 * @param {string} caption @param {string[]} headers @param {HTMLElement[]} rows @param {Record<string, unknown>} [attrs]
 */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    'table',
    attrs,
    h('caption', { class: 'sr-only' }, caption),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        headers.map((x) => h('th', { scope: 'col' }, x)),
      ),
    ),
    h('tbody', null, rows),
  );
}

/** A message area for form results; `say` replaces its content. */
export function statusLine() {
  const el = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  return {
    el,
    /** @param {string} text @param {'ok'|'error'|''} [kind] */
    say(text, kind = '') {
      el.className = `status ${kind}`;
      el.textContent = text;
    },
  };
}

/**
 * A form action that runs `fn`, redraws, and says `what` on the status line, or the error there.
 * @param {{ say: (text: string, kind?: 'ok'|'error'|'') => void }} status @param {() => Promise<unknown>} redraw
 * @returns {(what: string, fn: () => Promise<unknown>) => Promise<void>}
 */
export function saveThenRedraw(status, redraw) {
  return async (what, fn) => {
    try {
      await fn();
      await redraw();
      status.say(what, 'ok');
    } catch (err) {
      status.say(/** @type {Error} */ (err).message, 'error');
    }
  };
}

/** Severity 1–5 as a coloured badge. @param {unknown} sev */
export function sevBadge(sev) {
  const n = Number(sev) || 0;
  return h('span', { class: `sev sev-${n}`, title: `severity ${n} of 5` }, `S${n}`);
}
