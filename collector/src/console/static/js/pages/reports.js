// Termly figures for governors, the DSL and admins: alerts by category and month (SVG chart and
// the same numbers as a table), incidents by outcome, devices non-compliant on idle lock or USB.
// The server anonymises for governors; this page shows only what it is sent. In the governors'
// variant a count from 1 to 2 arrives as `{ suppressed: true }` and is shown as "fewer than 3".
import { api } from '../api.js';
import { stackedBars } from '../chart.js';
import { ext, fmtTime, h, mount } from '../h.js';
import { loading, renderError, table } from '../ui.js';

/** Where the matched words were seen (report.alerts.bySource keys). @type {Record<string, string>} */
const SOURCE_WORDS = {
  typed: 'typed',
  screen: 'on screen',
  title: 'window title',
  url: 'URL',
  page: 'page text',
  other: 'not recorded',
};

const REASONS = {
  'lock-failed': 'screen lock failed',
  'no-lock-capability': 'cannot lock on this device',
  'idle-lock-disabled': 'idle lock off or report-only',
  'usb-enforcement-failed': 'USB block failed',
  'no-usb-control': 'no USB control on this device',
  'usb-relaxed': 'USB rule relaxed (allow/audit)',
};

/** @param {Date} d */
const isoDate = (d) =>
  `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** @param {HTMLElement} main */
export async function render(main) {
  const from = /** @type {HTMLInputElement} */ (h('input', { type: 'date' }));
  const to = /** @type {HTMLInputElement} */ (h('input', { type: 'date' }));
  const body = h('div', null, loading('Loading report'));
  const load = async () => {
    mount(body, loading('Loading report'));
    try {
      // Empty dates: the server's current term.
      const period = {
        from: from.value ? new Date(`${from.value}T00:00:00`).getTime() : undefined,
        to: to.value ? new Date(`${to.value}T23:59:59`).getTime() : undefined,
      };
      const [r, reads] = await Promise.all([api.report(period), api.readsReport(period)]);
      if (!from.value && r?.period?.from) from.value = isoDate(new Date(r.period.from));
      if (!to.value && r?.period?.to) to.value = isoDate(new Date(r.period.to - 1));
      mount(body, reportBody(r), readsBody(reads));
    } catch (err) {
      mount(body, renderError(err));
    }
  };
  mount(
    main,
    h('h1', null, 'Reports'),
    h(
      'form',
      {
        class: 'filters',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          void load();
        },
      },
      h('label', null, 'From ', from),
      h('label', null, 'To ', to),
      h('button', { type: 'submit' }, 'Show'),
    ),
    body,
  );
  await load();
}

/**
 * "Monitoring the monitors": how often staff looked at safeguarding content, by role and month.
 * The server sends counts only (no names, no alerts, no devices).
 * @param {any} reads
 */
function readsBody(reads) {
  const months = /** @type {string[]} */ (reads?.period?.months ?? []);
  const byRole = /** @type {Record<string, Record<string, number>>} */ (reads?.byRoleMonth ?? {});
  const roles = Object.keys(byRole).sort();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'reads-h', id: 'reads' },
    h('h2', { id: 'reads-h' }, 'Views of safeguarding content'),
    h(
      'p',
      { class: 'muted' },
      `Every view of an alert, screenshot, incident, device timeline or export is recorded. ${String(reads?.total ?? 0)} views in this period.`,
    ),
    roles.length === 0
      ? h('p', { class: 'muted' }, 'No views in this period.')
      : table(
          'Views by staff role and month',
          ['Role', ...months],
          roles.map((role) =>
            h(
              'tr',
              { 'data-role': role },
              h('td', null, ext(role, 20)),
              ...months.map((m) => h('td', { class: 'num' }, String(Number(byRole[role]?.[m] ?? 0)))),
            ),
          ),
        ),
  );
}

/** @param {unknown} v @returns {boolean} the server's marker for a hidden small number */
const hidden = (v) =>
  typeof v === 'object' && v !== null && /** @type {{ suppressed?: unknown }} */ (v).suppressed === true;
/** @param {unknown} v */
const fig = (v) => (hidden(v) ? 'fewer than 3' : String(Number(v ?? 0) || 0));

/** @param {Record<string, unknown> | undefined} rec */
const entries = (rec) => Object.entries(rec ?? {}).filter(([, n]) => hidden(n) || Number(n) > 0);

/** @param {any} r */
function reportBody(r) {
  const a = r?.alerts ?? {};
  /** @type {{ month: string, category: string, count: number, suppressed: boolean }[]} */
  const byMonth = [];
  for (const [category, months] of Object.entries(a.byCategoryMonth ?? {})) {
    for (const [month, count] of Object.entries(/** @type {Record<string, unknown>} */ (months))) {
      const suppressed = hidden(count);
      byMonth.push({ month, category, count: suppressed ? 0 : Number(count) || 0, suppressed });
    }
  }
  const inc = r?.incidents ?? {};
  const dev = r?.devices ?? {};
  const list = /** @type {any[]} */ (dev.list ?? []);
  return [
    h(
      'p',
      { class: 'muted' },
      r?.period?.label ? `${r.period.label} · ` : '',
      `${fmtTime(r?.period?.from)} to ${fmtTime(r?.period?.to)}`,
    ),
    r?.anonymised
      ? h('p', { class: 'notice' }, 'Anonymised: no names of pupils, staff or devices are shown.')
      : null,
    r?.suppression
      ? h(
          'p',
          { class: 'notice', 'data-suppression': '' },
          'Numbers from 1 to 2 are shown as “fewer than 3” so that no child can be identified. ',
          'So that such a number cannot be worked out from the others, one more figure in the same table ',
          'and the total may be withheld the same way.',
        )
      : null,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'r1' },
      h('h2', { id: 'r1' }, 'Alerts by category and month'),
      h(
        'p',
        { class: 'muted' },
        `${fig(a.total)} alerts in the period, ${fig(a.falsePositives)} of them false positives (not in the chart).`,
      ),
      byMonth.every((x) => x.count === 0 && !x.suppressed)
        ? h('p', { class: 'muted' }, 'No alerts in this period.')
        : stackedBars(byMonth, { title: 'Alerts by category and month' }),
      byMonth.length === 0
        ? null
        : h(
            'details',
            null,
            h('summary', null, 'Figures as a table'),
            table(
              'Alerts by category and month',
              ['Month', 'Category', 'Alerts'],
              byMonth
                .filter((x) => x.count > 0 || x.suppressed)
                .map((x) =>
                  h(
                    'tr',
                    null,
                    h('td', null, x.month),
                    h('td', null, ext(x.category, 40)),
                    h('td', null, x.suppressed ? fig({ suppressed: true }) : String(x.count)),
                  ),
                ),
            ),
          ),
      entries(a.bySeverity).length
        ? h(
            'p',
            { class: 'small' },
            'By severity: ',
            entries(a.bySeverity)
              .map(([s, n]) => `S${s}: ${fig(n)}`)
              .join(' · '),
          )
        : null,
      a.bySource && entries(a.bySource).length
        ? h(
            'p',
            { class: 'small' },
            'By where the words were seen: ',
            entries(a.bySource)
              .map(([s, n]) => `${SOURCE_WORDS[s] ?? 'other'}: ${fig(n)}`)
              .join(' · '),
          )
        : null,
    ),
    h(
      'div',
      { class: 'grid2' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'r2' },
        h('h2', { id: 'r2' }, 'Incidents by outcome'),
        entries(inc.byOutcome).length === 0
          ? h('p', { class: 'muted' }, 'No incidents in this period.')
          : table(
              'Incidents by outcome',
              ['Outcome', 'Incidents'],
              entries(inc.byOutcome).map(([o, n]) =>
                h('tr', null, h('td', null, ext(o.replace(/-/g, ' '), 60)), h('td', null, fig(n))),
              ),
            ),
        entries(inc.byReferral).length
          ? h(
              'p',
              { class: 'small' },
              'Referrals: ',
              entries(inc.byReferral)
                .map(([k, n]) => `${k}: ${fig(n)}`)
                .join(' · '),
            )
          : null,
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'r3' },
        h('h2', { id: 'r3' }, 'Non-compliant devices'),
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, 'Idle lock'),
          h('dd', { 'data-figure': 'idle' }, fig(dev.idleLockNonCompliant)),
          h('dt', null, 'USB control'),
          h('dd', { 'data-figure': 'usb' }, fig(dev.usbNonCompliant)),
          h('dt', null, 'Non-compliant / all devices'),
          h('dd', null, `${fig(dev.nonCompliant)} of ${fig(dev.total)}`),
        ),
        entries(dev.byReason).length
          ? table(
              'Reasons',
              ['Reason', 'Devices'],
              entries(dev.byReason).map(([k, n]) =>
                h(
                  'tr',
                  null,
                  h('td', null, REASONS[/** @type {keyof typeof REASONS} */ (k)] ?? k),
                  h('td', null, fig(n)),
                ),
              ),
            )
          : null,
        list.length === 0
          ? null
          : h(
              'details',
              null,
              h('summary', null, 'Which devices'),
              table(
                'Non-compliant devices',
                ['Device', 'Why'],
                list.map((d) =>
                  h(
                    'tr',
                    null,
                    h(
                      'td',
                      null,
                      h(
                        'a',
                        { href: `#/devices/${encodeURIComponent(d.deviceId)}` },
                        ext(d.hostname || d.deviceId, 40),
                      ),
                    ),
                    h(
                      'td',
                      null,
                      (d.reasons ?? [])
                        .map(
                          (/** @type {string} */ x) => REASONS[/** @type {keyof typeof REASONS} */ (x)] ?? x,
                        )
                        .join(', '),
                    ),
                  ),
                ),
              ),
            ),
      ),
    ),
  ];
}
