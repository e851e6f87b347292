// Termly figures for governors, the DSL and admins: alerts by category and month (SVG chart and
// the same numbers as a table), incidents by outcome, devices non-compliant on idle lock or USB.
// The server anonymises for governors; this page shows only what it is sent.
import { api } from '../api.js';
import { stackedBars } from '../chart.js';
import { ext, fmtTime, h, mount } from '../h.js';
import { loading, renderError, table } from '../ui.js';

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
      const r = await api.report({
        from: from.value ? new Date(`${from.value}T00:00:00`).getTime() : undefined,
        to: to.value ? new Date(`${to.value}T23:59:59`).getTime() : undefined,
      });
      if (!from.value && r?.period?.from) from.value = isoDate(new Date(r.period.from));
      if (!to.value && r?.period?.to) to.value = isoDate(new Date(r.period.to - 1));
      mount(body, reportBody(r));
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

/** @param {Record<string, number> | undefined} rec */
const entries = (rec) => Object.entries(rec ?? {}).filter(([, n]) => Number(n) > 0);

/** @param {any} r */
function reportBody(r) {
  const a = r?.alerts ?? {};
  /** @type {{ month: string, category: string, count: number }[]} */
  const byMonth = [];
  for (const [category, months] of Object.entries(a.byCategoryMonth ?? {})) {
    for (const [month, count] of Object.entries(/** @type {Record<string, number>} */ (months))) {
      byMonth.push({ month, category, count: Number(count) || 0 });
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
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'r1' },
      h('h2', { id: 'r1' }, 'Alerts by category and month'),
      h(
        'p',
        { class: 'muted' },
        `${a.total ?? 0} alerts in the period, ${a.falsePositives ?? 0} of them false positives (not in the chart).`,
      ),
      byMonth.every((x) => x.count === 0)
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
                .filter((x) => x.count > 0)
                .map((x) =>
                  h(
                    'tr',
                    null,
                    h('td', null, x.month),
                    h('td', null, ext(x.category, 40)),
                    h('td', null, String(x.count)),
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
              .map(([s, n]) => `S${s}: ${n}`)
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
                h('tr', null, h('td', null, ext(o.replace(/-/g, ' '), 60)), h('td', null, String(n))),
              ),
            ),
        entries(inc.byReferral).length
          ? h(
              'p',
              { class: 'small' },
              'Referrals: ',
              entries(inc.byReferral)
                .map(([k, n]) => `${k}: ${n}`)
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
          h('dd', { 'data-figure': 'idle' }, String(dev.idleLockNonCompliant ?? 0)),
          h('dt', null, 'USB control'),
          h('dd', { 'data-figure': 'usb' }, String(dev.usbNonCompliant ?? 0)),
          h('dt', null, 'Non-compliant / all devices'),
          h('dd', null, `${dev.nonCompliant ?? 0} of ${dev.total ?? 0}`),
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
                  h('td', null, String(n)),
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
