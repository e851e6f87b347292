// Subject access and erasure on the Data protection page (issue 19 item 3 in the console).
// Subject access (DSL only: the archive holds alerts and screenshots): name a person or a device
// and the request's reference, read what the export does, then confirm; the zip is fetched with
// the session and saved. Erasure (DSL, admin): name the subject and the reason, read what erasure
// deletes and what it keeps, tick that it cannot be undone, confirm; the result says what was
// erased and, prominently, what the safeguarding hold kept and why. The erasure records follow.
import { api, fetchDownload } from './api.js';
import { ext, field, fmtBytes, fmtTime, h, mount } from './h.js';
import { deviceView, listOf } from './model.js';
import { OPTIONS } from './options.js';
import { renderError, statusLine, table } from './ui.js';

/** Words for the subject kinds (values from the server, OPTIONS.subjectKinds). @type {Record<string, string>} */
const KIND_LABEL = {
  user: 'A person (user name as recorded on devices)',
  device: 'A device (all of it)',
};

/** Words for the erasure counts (ErasureRecord.erased). @type {Record<string, string>} */
const ERASED_LABEL = {
  timelineEvents: 'timeline events',
  alerts: 'alerts',
  screenshots: 'screenshots',
  incidents: 'incidents',
  incidentsRedacted: 'incidents with the name taken out',
  statusSnapshots: 'live status snapshots',
};

const SAR_EXPLAINED =
  'What this does: builds one zip of everything held about the subject — the device records, timeline events, alerts with their matched words, context and screenshots, incidents and the audit records about them — with manifest.json listing the SHA-256 of every part. The export is recorded in the audit log (you, the time, the reference) and the DSLs are told (without the subject’s name). Nothing is changed or deleted. Review the archive before releasing it: take out what an exemption covers (other people’s data; anything whose release would likely cause serious harm).';

const ERASURE_EXPLAINED =
  'What this does: permanently deletes what is held about the subject — timeline events, alerts, screenshots no kept alert needs, incidents only about them (the name is taken out of incidents also about others); a whole device’s record keeps its id but loses its name and user. It does NOT delete what the safeguarding hold keeps: anything linked to an incident that is open or under monitoring, or referred to an outside agency within the retention period (those are listed with the reason). The audit log is kept. Erasure does not stop monitoring: revoke or retire the device for that. It cannot be undone.';

/**
 * @typedef {{ kind: string, value: string }} SubjectChoice
 * @typedef {Map<string, import('./model.js').DeviceView>} Devices
 */

/** @param {unknown} err */
function failure(err) {
  const e = /** @type {any} */ (err);
  const code = typeof e?.code === 'string' ? e.code : '';
  if (e?.status === 404 && code === OPTIONS.errorCodes.NOT_FOUND)
    return `Nothing is held about this subject. (${code})`;
  if (e?.status === 403) return `You do not have access to this. (${code})`;
  return `${String(e?.message ?? e)}${code ? ` (${code})` : ''}`;
}

/**
 * A person-or-device picker. Device names come from devices: shown as text only (option text).
 * @param {string} prefix label prefix, so two pickers on the page have distinct labels
 * @param {Devices} devices
 */
function subjectPicker(prefix, devices) {
  const kind = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { name: `${prefix}-kind` },
      OPTIONS.subjectKinds.map((k) => h('option', { value: k }, KIND_LABEL[k] ?? k)),
    )
  );
  const user = /** @type {HTMLInputElement} */ (
    h('input', {
      name: `${prefix}-user`,
      maxlength: '256',
      autocomplete: 'off',
      placeholder: 'e.g. ava.pupil',
    })
  );
  const sorted = [...devices.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  const device = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { name: `${prefix}-device` },
      h('option', { value: '' }, '— choose a device —'),
      sorted.map((d) => h('option', { value: d.id }, `${d.hostname || '(no name)'} · ${d.id}`)),
    )
  );
  const userField = field(
    `${prefix}: user name`,
    user,
    'As the agent reported it (sign-in name) or the BYOD owner; case does not matter.',
  );
  const deviceField = field(`${prefix}: device`, device);
  // Only the field for the chosen kind is in the page (the CSS gives .field a display, so the
  // hidden attribute would not hide it).
  const slot = h('div');
  const sync = () => mount(slot, kind.value === 'user' ? userField : deviceField);
  kind.addEventListener('change', sync);
  sync();
  return {
    el: h('div', null, field(`${prefix}: who`, kind), slot),
    /** @returns {SubjectChoice | null} */
    value() {
      const v = kind.value === 'user' ? user.value.trim() : device.value;
      return v ? { kind: kind.value, value: v } : null;
    },
  };
}

/** The subject as a reader sees it (device: its name and id). @param {SubjectChoice} s @param {Devices} devices */
function subjectText(s, devices) {
  if (s.kind === 'device') {
    const d = devices.get(s.value);
    return h('span', null, 'the device ', ext(d?.hostname || '(no name)', 80), ' ', h('code', null, s.value));
  }
  return h('span', null, 'the person ', ext(s.value, 120));
}

/** An erasure record's subject (`user:NAME` / `device:ID`). @param {string} label @param {Devices} devices */
function recordSubject(label, devices) {
  const i = label.indexOf(':');
  const kind = label.slice(0, i);
  const value = label.slice(i + 1);
  if (kind === 'device' || kind === 'user') return subjectText({ kind, value }, devices);
  return ext(label, 120);
}

/**
 * Draws both cards into `slot`.
 * @param {HTMLElement} slot @param {import('./app.js').PageContext} ctx
 */
export async function drawSubjectRequests(slot, ctx) {
  /** @type {Devices} */
  const devices = new Map();
  try {
    for (const d of listOf(await api.devices(), 'devices')) {
      const v = deviceView(d);
      devices.set(v.id, v);
    }
  } catch (err) {
    mount(slot, renderError(err));
    return;
  }
  const erasures = h('div');
  mount(
    slot,
    ctx.user.role === 'dsl'
      ? subjectAccessCard(devices)
      : h(
          'section',
          { class: 'card', id: 'subject-access', 'aria-labelledby': 'sar-h' },
          h('h2', { id: 'sar-h' }, 'Subject access request'),
          h(
            'p',
            { class: 'notice' },
            'Subject access requests are run by a DSL: the archive holds alerts and screenshots, which only the DSL role may see. Pass the request (and its reference) to a DSL.',
          ),
        ),
    erasureCard(devices, () => drawErasures(erasures, devices)),
    erasures,
  );
  await drawErasures(erasures, devices);
}

/** @param {Devices} devices */
function subjectAccessCard(devices) {
  const picker = subjectPicker('Subject access', devices);
  const reference = /** @type {HTMLInputElement} */ (
    h('input', { name: 'sar-reference', maxlength: '200', required: true, placeholder: 'e.g. SAR-2026-014' })
  );
  const say = statusLine();
  const confirm = h('div');
  /** The last archive's object URL, released when the next is made. @type {string | null} */
  let saved = null;
  /** @param {SubjectChoice} s @param {string} ref */
  const run = async (s, ref) => {
    say.say('Preparing the archive…');
    if (saved) URL.revokeObjectURL(saved);
    saved = null;
    try {
      const url = api.subjectAccessUrl({ [s.kind]: s.value, reference: ref });
      const { href, bytes, name } = await fetchDownload(url, 'subject-access.zip');
      saved = href;
      const link = h('a', { href, download: name, 'data-sar-download': '' }, `Save ${name} again`);
      mount(
        confirm,
        h(
          'p',
          { class: 'notice' },
          `Archive ready (${fmtBytes(bytes)}): `,
          link,
          '. manifest.json inside lists the SHA-256 of every part.',
        ),
      );
      link.click();
      say.say('Archive downloaded; the export is in the audit log.', 'ok');
    } catch (err) {
      mount(confirm);
      say.say(failure(err), 'error');
    }
  };
  const form = h(
    'form',
    {
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        const s = picker.value();
        const ref = reference.value.trim();
        if (!s) return say.say('Name the person or choose the device first.', 'error');
        if (!ref)
          return say.say(
            'Give the request’s reference (it goes into the archive and the audit log).',
            'error',
          );
        say.say('');
        mount(
          confirm,
          h(
            'div',
            { class: 'code-box', 'data-confirm': 'subject-access' },
            h(
              'p',
              null,
              'You are about to export everything held about ',
              subjectText(s, devices),
              ' for request ',
              ext(ref, 200),
              '.',
            ),
            h('p', { class: 'small' }, SAR_EXPLAINED),
            h(
              'div',
              { class: 'buttons' },
              h('button', { type: 'button', onclick: () => void run(s, ref) }, 'Export and download'),
              h('button', { type: 'button', class: 'secondary', onclick: () => mount(confirm) }, 'Cancel'),
            ),
          ),
        );
      },
    },
    picker.el,
    field(
      'Reference',
      reference,
      'The request’s reference (e.g. from the DPO’s log); kept in the archive and the audit log.',
    ),
    h('button', { type: 'submit' }, 'Review export'),
  );
  return h(
    'section',
    { class: 'card', id: 'subject-access', 'aria-labelledby': 'sar-h' },
    h('h2', { id: 'sar-h' }, 'Subject access request'),
    h('p', { class: 'muted' }, SAR_EXPLAINED),
    form,
    confirm,
    say.el,
  );
}

/** @param {Devices} devices @param {() => Promise<void>} reload */
function erasureCard(devices, reload) {
  const picker = subjectPicker('Erasure', devices);
  const reason = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      name: 'erasure-reason',
      rows: '3',
      class: 'wide',
      maxlength: '1000',
      placeholder: 'e.g. request ER-2026-003 from the parent, grounds checked by the DPO',
    })
  );
  const say = statusLine();
  const confirm = h('div');
  const result = h('div', { 'aria-live': 'polite' });
  /** @param {SubjectChoice} s @param {string} why */
  const run = async (s, why) => {
    say.say('Erasing…');
    try {
      const res = await api.requestErasure({ [s.kind]: s.value, reason: why });
      mount(confirm);
      mount(result, erasureResult(res?.erasure ?? {}, devices));
      reason.value = '';
      say.say('Erasure done; the record is below and in the audit log.', 'ok');
      await reload();
    } catch (err) {
      mount(confirm);
      say.say(failure(err), 'error');
    }
  };
  const form = h(
    'form',
    {
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        const s = picker.value();
        const why = reason.value.trim();
        if (!s) return say.say('Name the person or choose the device first.', 'error');
        if (!why)
          return say.say(
            'Give the reason: the request and its grounds (kept in the erasure record).',
            'error',
          );
        say.say('');
        mount(result);
        const sure = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', name: 'erasure-sure' }));
        const go = /** @type {HTMLButtonElement} */ (
          h(
            'button',
            { type: 'button', class: 'danger', disabled: true, onclick: () => void run(s, why) },
            'Erase',
          )
        );
        sure.addEventListener('change', () => {
          go.disabled = !sure.checked;
        });
        mount(
          confirm,
          h(
            'div',
            { class: 'code-box', 'data-confirm': 'erasure' },
            h('p', null, 'You are about to erase what is held about ', subjectText(s, devices), '.'),
            h('p', null, 'Reason: ', ext(why, 300)),
            h('p', { class: 'small' }, ERASURE_EXPLAINED),
            h('label', { class: 'check' }, sure, ' I have checked the subject; erasure cannot be undone'),
            h(
              'div',
              { class: 'buttons' },
              go,
              h('button', { type: 'button', class: 'secondary', onclick: () => mount(confirm) }, 'Cancel'),
            ),
          ),
        );
      },
    },
    picker.el,
    field(
      'Grounds for erasure',
      reason,
      'Required: the request and its grounds (kept in the erasure record).',
    ),
    h('button', { type: 'submit' }, 'Review erasure'),
  );
  return h(
    'section',
    { class: 'card', id: 'erasure', 'aria-labelledby': 'erasure-h' },
    h('h2', { id: 'erasure-h' }, 'Erasure request'),
    h('p', { class: 'muted' }, ERASURE_EXPLAINED),
    form,
    confirm,
    say.el,
    result,
  );
}

/**
 * Whether the safeguarding hold kept it (`held`; records from before the flag: the hold's wording).
 * @param {any} k
 */
const isHeld = (k) =>
  typeof k?.held === 'boolean' ? k.held : /safeguarding hold/.test(String(k?.why ?? ''));

/** What one erasure erased, and (prominently) what the hold kept and why. @param {any} e @param {Devices} devices */
function erasureResult(e, devices) {
  const erased = e?.erased ?? {};
  const kept = Array.isArray(e?.kept) ? e.kept : [];
  const held = kept.filter(isHeld);
  const always = kept.filter((/** @type {any} */ k) => !isHeld(k));
  const counts = Object.keys(ERASED_LABEL).map((k) => `${Number(erased[k] ?? 0)} ${ERASED_LABEL[k]}`);
  const redacted = Array.isArray(erased.devicesRedacted) ? erased.devicesRedacted.length : 0;
  const nothing = Object.keys(ERASED_LABEL).every((k) => !Number(erased[k] ?? 0)) && redacted === 0;
  return h(
    'div',
    { 'data-erasure': String(e?.id ?? '') },
    h(
      'p',
      null,
      'Erased for ',
      recordSubject(String(e?.subject ?? ''), devices),
      ': ',
      counts.join(', '),
      redacted ? `, ${redacted} device record(s) redacted` : '',
      '.',
    ),
    held.length
      ? h(
          'div',
          { class: 'error', role: 'alert', 'data-kept': String(held.length) },
          h(
            'strong',
            null,
            nothing
              ? 'Refused: nothing was erased. Everything found is under safeguarding hold.'
              : `Partly refused: ${held.length} item(s) are under safeguarding hold and were not erased.`,
          ),
          keptTable(held),
        )
      : h('p', { class: 'status ok' }, 'Nothing was kept back by a safeguarding hold.'),
    always.length
      ? h('details', null, h('summary', null, 'Always kept (not part of the request)'), keptTable(always))
      : null,
  );
}

/** @param {{ what: unknown, why: unknown }[]} kept */
function keptTable(kept) {
  return table(
    'Kept, and why',
    ['Kept', 'Why'],
    kept.map((k) => h('tr', null, h('td', null, ext(k.what, 120)), h('td', null, ext(k.why, 300)))),
  );
}

/** The erasure records, newest first. @param {HTMLElement} slot @param {Devices} devices */
async function drawErasures(slot, devices) {
  let list;
  try {
    list = listOf(await api.erasures(), 'erasures');
  } catch (err) {
    mount(slot, renderError(err));
    return;
  }
  mount(
    slot,
    h(
      'section',
      { class: 'card', id: 'erasures', 'aria-labelledby': 'erasures-h' },
      h('h2', { id: 'erasures-h' }, 'Erasures done'),
      list.length === 0
        ? h('p', { class: 'muted' }, 'No erasure has been requested.')
        : h(
            'div',
            { class: 'table-wrap' },
            table(
              'Erasures, newest first',
              ['When', 'By', 'Subject', 'Reason', 'Erased', 'Kept (safeguarding hold)'],
              list.map((e) => {
                const erased = e?.erased ?? {};
                const kept = (Array.isArray(e?.kept) ? e.kept : []).filter(isHeld);
                return h(
                  'tr',
                  { 'data-erasure-id': String(e?.id ?? '') },
                  h('td', { class: 'nowrap' }, fmtTime(e?.at)),
                  h('td', null, ext(e?.by, 40)),
                  h('td', null, recordSubject(String(e?.subject ?? ''), devices)),
                  h('td', null, ext(e?.reason, 200)),
                  h(
                    'td',
                    null,
                    Object.keys(ERASED_LABEL)
                      .filter((k) => Number(erased[k] ?? 0) > 0)
                      .map((k) => `${Number(erased[k])} ${ERASED_LABEL[k]}`)
                      .join(', ') || 'nothing',
                  ),
                  h(
                    'td',
                    null,
                    kept.length
                      ? h('details', null, h('summary', null, `${kept.length} kept`), keptTable(kept))
                      : 'none',
                  ),
                );
              }),
            ),
          ),
    ),
  );
}
