// One alert for the DSL: the screenshot stays hidden (a blurred placeholder, no request made)
// until "Reveal" is pressed — the reveal fetches the image through the audited endpoint. Then
// the context snippet, the device timeline around the event, and the actions.
import { api, fetchBlobUrl } from '../api.js';
import { approvedNote, revealAccess, revealGate } from '../dual-control.js';
import { eventRow, kindOf, timeOf } from '../events.js';
import { exportOneLinks } from '../export-links.js';
import { badge, ext, extLong, field, fmtTime, h, mount } from '../h.js';
import { alertView, listOf } from '../model.js';
import { loading, renderError, sevBadge, statusLine, table } from '../ui.js';

/** What the matched text was (FlaggedActivity.source), in words; anything else shown inert. */
const SOURCES = {
  title: 'window title',
  url: 'web address (URL)',
  page: 'page text (browser extension)',
  typed: 'typed text (keyboard or browser extension)',
  screen: 'on-screen text (OCR)',
};

/** @param {string} source */
function sourceLabel(source) {
  if (source === '') return '—';
  return Object.hasOwn(SOURCES, source)
    ? SOURCES[/** @type {keyof typeof SOURCES} */ (source)]
    : ext(source, 20);
}

/** Minutes of device timeline shown either side of the event. */
const AROUND_MIN = 10;

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const id = ctx.params.id ?? '';
  mount(main, loading('Loading alert'));
  /** Screenshots revealed on this visit (blob id → object URL): they stay shown across redraws
   * after an action, and are released when the page is left. @type {Map<string, string>} */
  const revealed = new Map();
  const say = statusLine();

  // The first draw opens the alert (POST …/viewed: one `view.alert` audit record, the history
  // entry the notification rota can stop on); redraws after an action read it again with GET.
  let opened = false;
  const draw = async () => {
    let a;
    /** Dual control: whether a second DSL is needed and the caller's request (or why it failed). */
    /** @type {import('../dual-control.js').RevealAccess | Error} */
    let access;
    try {
      a = alertView(await (opened ? api.alert(id) : api.openAlert(id)));
      opened = true;
      access = await revealAccess(id).catch((/** @type {Error} */ err) => err);
    } catch (err) {
      mount(main, h('p', null, h('a', { href: '#/alerts' }, '← Alerts')), renderError(err));
      return;
    }
    const shots = h(
      'section',
      { class: 'card shots', 'aria-labelledby': 'shot-h' },
      h('h2', { id: 'shot-h' }, 'Screenshot'),
      screenshots(a, revealed, access, draw),
    );
    const around = h(
      'section',
      { class: 'card', 'aria-labelledby': 'around-h' },
      h('h2', { id: 'around-h' }, 'Device timeline around the event'),
      loading(),
    );
    mount(
      main,
      h('p', null, h('a', { href: '#/alerts' }, '← Alerts')),
      h(
        'div',
        { class: 'page-head' },
        h('h1', null, sevBadge(a.severity), ' ', ext(a.category, 40), ' — "', ext(a.term, 60), '"'),
        badge(a.status, a.status === 'new' ? 'warn' : a.status === 'escalated' ? 'bad' : ''),
      ),
      say.el,
      h(
        'div',
        { class: 'grid2' },
        shots,
        h(
          'section',
          { class: 'card', 'aria-labelledby': 'what-h' },
          h('h2', { id: 'what-h' }, 'What was seen'),
          h(
            'dl',
            { class: 'facts' },
            [
              ['Context', h('q', { class: 'context' }, extLong(a.context, 200))],
              ['Window', a.title ? extLong(a.title, 160) : '—'],
              ['App', a.app ? ext(a.app, 60) : '—'],
              ['URL', a.url ? extLong(a.url, 160) : '—'],
              ['Source', sourceLabel(a.source)],
              ...(a.source === 'typed'
                ? [
                    [
                      'Kept',
                      'Only the matched sentence above (at most 100 characters, secret-looking words masked); nothing else typed left the device.',
                    ],
                  ]
                : []),
              [
                'Device',
                a.deviceId
                  ? h(
                      'a',
                      { href: `#/devices/${encodeURIComponent(a.deviceId)}` },
                      ext(a.hostname || a.deviceId, 40),
                    )
                  : '—',
              ],
              ['User', a.user ? ext(a.user, 40) : '—'],
              ['When', fmtTime(a.time)],
              ['Educational context', a.educational ? 'yes — severity lowered, not hidden' : 'no'],
              ['Repeats', a.repeatCount ? `${a.repeatCount} more captures suppressed` : 'none'],
              ['Grade', a.grade ? `${a.grade} of 5` : 'not graded'],
              [
                'Incident',
                a.incidentId
                  ? h(
                      'a',
                      { href: `#/incidents/${encodeURIComponent(a.incidentId)}` },
                      'open incident record',
                    )
                  : 'none',
              ],
            ].map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
          ),
          actions(a, say, draw),
        ),
      ),
      around,
      notes(a, say, draw),
    );
    void fillAround(around, a);
  };
  await draw();
  return () => {
    for (const u of revealed.values()) URL.revokeObjectURL(u);
  };
}

/**
 * @param {import('../model.js').AlertView} a @param {Map<string, string>} revealed
 * @param {import('../dual-control.js').RevealAccess | Error} access @param {() => Promise<void>} redraw
 */
function screenshots(a, revealed, access, redraw) {
  if (a.screenshots.length === 0) {
    return h(
      'p',
      { class: 'muted' },
      a.screenshotUnavailable
        ? ['No screenshot: ', ext(a.screenshotUnavailable, 200)]
        : 'No screenshot was captured.',
    );
  }
  // A second DSL must approve first (dual control): the server refuses the image until then.
  if (access instanceof Error) return renderError(access);
  if (access.required && !access.allowed && revealed.size === 0) return revealGate(a.id, access, redraw);
  const frames = a.screenshots.map((blobId, i) => {
    const status = h('p', { class: 'muted small', role: 'status' });
    const frame = h('div', { class: 'shot-frame' });
    const alt = `Screenshot ${i + 1} of the flagged activity`;
    const shown = revealed.get(blobId);
    if (shown) {
      mount(frame, h('img', { src: shown, alt, class: 'shot' }));
      status.textContent = 'Viewed by you on this visit; recorded in the audit log.';
      return h('div', null, frame, status);
    }
    const reveal = /** @type {HTMLButtonElement} */ (
      h(
        'button',
        {
          type: 'button',
          class: 'reveal',
          onclick: async () => {
            reveal.disabled = true;
            status.textContent = 'Fetching — this view is recorded in the audit log…';
            try {
              const url = await fetchBlobUrl(api.screenshotUrl(a.id, blobId));
              revealed.set(blobId, url);
              mount(frame, h('img', { src: url, alt, class: 'shot' }));
              status.textContent = 'Viewed by you now; recorded in the audit log.';
            } catch (err) {
              reveal.disabled = false;
              mount(status, renderError(err));
            }
          },
        },
        `Reveal screenshot${a.screenshots.length > 1 ? ` ${i + 1}` : ''}`,
      )
    );
    // Nothing is fetched before the click: the placeholder is drawn by CSS, not a blurred copy.
    mount(frame, h('div', { class: 'shot-hidden', 'aria-hidden': 'true' }), reveal);
    return h('div', null, frame, status);
  });
  return [approvedNote(access), ...frames];
}

/**
 * @param {import('../model.js').AlertView} a
 * @param {ReturnType<typeof statusLine>} say
 * @param {() => Promise<void>} redraw
 */
function actions(a, say, redraw) {
  /** @param {string} what @param {() => Promise<unknown>} fn */
  const run = async (what, fn) => {
    try {
      await fn();
      await redraw();
      say.say(what, 'ok');
    } catch (err) {
      say.say(/** @type {Error} */ (err).message, 'error');
    }
  };
  /** @type {{ actor: string } | undefined} */
  const acknowledged = (a.raw?.history ?? []).find((/** @type {any} */ e) => e.action === 'acknowledged');
  const escalateTitle = /** @type {HTMLInputElement} */ (
    h('input', { value: `${a.category}: ${a.term}`.slice(0, 200), required: true })
  );
  const escalateForm = h(
    'form',
    {
      class: 'inline-form',
      hidden: true,
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        void run('Escalated: an incident record was opened.', () =>
          api.escalate(a.id, { incident: { title: escalateTitle.value.trim() } }),
        );
      },
    },
    field('Incident title', escalateTitle),
    h('button', { type: 'submit' }, 'Open incident'),
  );
  return h(
    'div',
    { class: 'actions' },
    h(
      'div',
      { role: 'group', 'aria-label': 'Grade 1 to 5', class: 'grades' },
      h('span', null, 'Grade: '),
      [1, 2, 3, 4, 5].map((n) =>
        h(
          'button',
          {
            type: 'button',
            class: a.grade === n ? 'grade current' : 'grade',
            'aria-pressed': a.grade === n ? 'true' : 'false',
            'data-grade': n,
            onclick: () => run(`Graded ${n}.`, () => api.grade(a.id, n)),
          },
          String(n),
        ),
      ),
    ),
    h(
      'div',
      { class: 'buttons' },
      h(
        'button',
        {
          type: 'button',
          id: 'acknowledge',
          disabled: Boolean(acknowledged),
          title: 'Stops the notification rota: nobody else is called about this alert',
          onclick: () => run('Acknowledged: nobody else will be notified.', () => api.acknowledge(a.id)),
        },
        acknowledged ? ['Acknowledged by ', ext(acknowledged.actor, 40)] : 'Acknowledge',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () => run('Marked as a false positive.', () => api.falsePositive(a.id)),
        },
        'False positive',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          disabled: Boolean(a.incidentId),
          onclick: () => {
            escalateForm.hidden = false;
            escalateTitle.focus();
          },
        },
        'Escalate…',
      ),
      h(
        'a',
        { class: 'button secondary', href: api.evidenceUrl(a.id), download: `evidence-${a.id}.html` },
        'Export evidence',
      ),
      exportOneLinks('alerts', a.id),
    ),
    escalateForm,
  );
}

/**
 * @param {import('../model.js').AlertView} a
 * @param {ReturnType<typeof statusLine>} say
 * @param {() => Promise<void>} redraw
 */
function notes(a, say, redraw) {
  const text = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { rows: '3', maxlength: '4000', required: true })
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'notes-h' },
    h('h2', { id: 'notes-h' }, 'Notes'),
    a.notes.length === 0
      ? h('p', { class: 'muted' }, 'No notes yet.')
      : h(
          'ul',
          { class: 'notes' },
          a.notes.map((n) =>
            h(
              'li',
              null,
              h('div', { class: 'muted small' }, ext(n.author, 40), ' · ', fmtTime(n.at)),
              extLong(n.text, 600),
            ),
          ),
        ),
    h(
      'form',
      {
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          if (!text.value.trim()) return;
          try {
            await api.note(a.id, text.value.trim());
            await redraw();
            say.say('Note added.', 'ok');
          } catch (err) {
            say.say(/** @type {Error} */ (err).message, 'error');
          }
        },
      },
      field('Add a note', text),
      h('button', { type: 'submit' }, 'Add note'),
    ),
  );
}

/** @param {HTMLElement} box @param {import('../model.js').AlertView} a */
async function fillAround(box, a) {
  const heading = h('h2', { id: 'around-h' }, 'Device timeline around the event');
  if (!a.deviceId || !a.time) {
    mount(box, heading, h('p', { class: 'muted' }, 'No device timeline for this alert.'));
    return;
  }
  try {
    // The alert detail carries its own excerpt, so the DSL needs no device-timeline access.
    const events =
      a.timeline ??
      listOf(
        await api.timeline(a.deviceId, {
          from: a.time - AROUND_MIN * 60_000,
          to: a.time + AROUND_MIN * 60_000,
          limit: 100,
        }),
        'events',
      );
    mount(
      box,
      heading,
      events.length === 0
        ? h('p', { class: 'muted' }, 'No events around this time.')
        : h(
            'div',
            { class: 'table-wrap' },
            table(
              'Device timeline around the alert',
              ['Time', 'Kind', 'What'],
              events.map((e) =>
                eventRow(e, {
                  class:
                    Math.abs(timeOf(e) - a.time) < 2000 && kindOf(e) === 'flaggedActivity' ? 'selected' : '',
                }),
              ),
            ),
          ),
    );
  } catch (err) {
    mount(box, heading, renderError(err));
  }
}
