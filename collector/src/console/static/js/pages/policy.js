// The trust default policy (trust-wide admin and IT edit it; staff of some schools read it), the
// school and group layers, BYOD enrolment codes and the enrolment secret (admins, for their own
// schools), and the change log of every policy change with who, when and why.
import { api } from '../api.js';
import { ext, extLong, field, fmtTime, h, mount } from '../h.js';
import { listOf } from '../model.js';
import { policyForm } from '../policy-form.js';
import { layersSection } from '../policy-layers.js';
import { loadSchools, schoolName } from '../schools.js';
import { loading, renderError, statusLine, table } from '../ui.js';

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const isAdmin = ctx.user.role === 'admin';
  // An account limited to some schools reads the trust default (the collector refuses its
  // changes) and works on its schools' layers, codes and secrets.
  const trustWide = !Array.isArray(ctx.user.schools);
  // The collector lets IT staff change policy too (with a reason); BYOD codes are admin only.
  const canEdit = (isAdmin || ctx.user.role === 'it') && trustWide;
  const schools = await loadSchools(ctx.user);
  const policySlot = h('div', null, loading('Loading policy'));
  const codesSlot = isAdmin ? [enrolCodes(schools), enrolSecret(schools, trustWide)] : null;
  const logSlot = h(
    'section',
    { class: 'card', 'aria-labelledby': 'log-h' },
    h('h2', { id: 'log-h' }, 'Change log'),
    loading(),
  );
  mount(
    main,
    h('h1', null, 'Policy & enrolment'),
    policySlot,
    layersSection(isAdmin, schools),
    codesSlot,
    logSlot,
  );

  const loadLog = async () => {
    try {
      const changes = listOf(await api.policyChanges(), 'changes');
      mount(
        logSlot,
        h('h2', { id: 'log-h' }, 'Change log'),
        changes.length === 0
          ? h('p', { class: 'muted' }, 'No changes yet.')
          : h(
              'div',
              { class: 'table-wrap' },
              table(
                'Policy changes, newest first',
                ['When', 'Who', 'Scope', 'Version', 'Reason'],
                changes.map((c) =>
                  h(
                    'tr',
                    null,
                    h('td', { class: 'nowrap' }, fmtTime(c.at)),
                    h('td', null, ext(c.actor, 40)),
                    h(
                      'td',
                      null,
                      c.scope === 'default' || String(c.scope).includes(':')
                        ? ext(c.scope, 60)
                        : h('a', { href: `#/devices/${encodeURIComponent(c.scope)}` }, ext(c.scope, 40)),
                    ),
                    h('td', null, `v${c.version}`),
                    h('td', null, extLong(c.reason, 200)),
                  ),
                ),
              ),
            ),
      );
    } catch (err) {
      mount(logSlot, h('h2', { id: 'log-h' }, 'Change log'), renderError(err));
    }
  };

  try {
    const data = await api.policy();
    mount(
      policySlot,
      policyForm(
        data?.policy ?? data,
        async (patch, reason) => {
          await api.putPolicy(patch, reason);
          void loadLog();
        },
        {
          title: trustWide
            ? 'Trust default policy (every device, under its school, group and own layers)'
            : 'Trust default policy (set by the trust; your school’s layer below changes what it needs)',
          readOnly: !canEdit,
        },
      ),
    );
  } catch (err) {
    mount(policySlot, renderError(err));
  }
  await loadLog();
}

/**
 * A value shown once (a code, a secret), marked with `attr` for tests, and what goes with it.
 * @param {string} label @param {string} value @param {string} attr @param {...Node} more
 */
function shownOnce(label, value, attr, ...more) {
  return h(
    'div',
    { class: 'code-box' },
    h('p', null, label, h('code', { class: 'big', [attr]: value }, value)),
    ...more,
  );
}

/**
 * A school picker for the schools the caller may choose among, or null when there is only one
 * (the collector then uses it). @param {import('../schools.js').Schools} schools @param {string} label
 */
function schoolPicker(schools, label) {
  if (schools.list.length < 2) return null;
  return /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'aria-label': label },
      schools.list.map((s) => h('option', { value: s.id }, s.name)),
    )
  );
}

/** @param {import('../schools.js').Schools} schools */
function enrolCodes(schools) {
  const school = schoolPicker(schools, 'School of the device');
  const hours = /** @type {HTMLInputElement} */ (
    h('input', { type: 'number', min: '1', max: '720', value: '72', class: 'short' })
  );
  const note = /** @type {HTMLInputElement} */ (
    h('input', { maxlength: '200', placeholder: 'e.g. Year 12 laptop, J. Smith' })
  );
  const say = statusLine();
  const result = h('div', { 'aria-live': 'polite' });
  const codeList = h('div');
  const loadCodes = async () => {
    try {
      const codes = listOf(await api.enrolCodes(), 'codes').sort((a, b) => b.createdAt - a.createdAt);
      mount(
        codeList,
        codes.length === 0
          ? null
          : table(
              'Enrolment codes, newest first',
              ['Code starts', ...(school ? ['School'] : []), 'Note', 'Created', 'Expires', 'State'],
              codes.map((c) =>
                h(
                  'tr',
                  null,
                  h('td', null, h('code', null, ext(`${c.hint}…`, 12))),
                  school ? h('td', null, schoolName(schools, String(c.schoolId))) : null,
                  h('td', null, ext(c.note, 60)),
                  h('td', { class: 'nowrap' }, fmtTime(c.createdAt), ' by ', ext(c.createdBy, 30)),
                  h('td', { class: 'nowrap' }, fmtTime(c.expiresAt)),
                  h('td', null, String(c.state ?? '')),
                ),
              ),
            ),
      );
    } catch (err) {
      mount(codeList, renderError(err));
    }
  };
  void loadCodes();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'codes-h' },
    h('h2', { id: 'codes-h' }, 'BYOD enrolment codes'),
    h(
      'p',
      { class: 'muted' },
      'A code enrols one personal device once. Give the person the link: it shows the agreement and the exact command.',
    ),
    h(
      'form',
      {
        class: 'filters',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          try {
            const res = await api.createEnrolCode({
              ttlHours: Number(hours.value),
              note: note.value.trim(),
              ...(school ? { schoolId: school.value } : {}),
            });
            const code = String(res?.code ?? '');
            const link = `${location.origin}/enrol?code=${encodeURIComponent(code)}`;
            mount(
              result,
              shownOnce(
                'Code (shown once): ',
                code,
                'data-enrol-code',
                h('p', null, 'Expires ', fmtTime(res?.expiresAt)),
                h(
                  'p',
                  null,
                  'Enrolment page: ',
                  h('a', { href: link, target: '_blank', rel: 'noopener' }, link),
                ),
              ),
            );
            say.say('Code created.', 'ok');
            void loadCodes();
          } catch (err) {
            say.say(/** @type {Error} */ (err).message, 'error');
          }
        },
      },
      school ? field('School', school) : null,
      field('Valid for (hours)', hours),
      field('Note', note),
      h('button', { type: 'submit' }, 'Create code'),
    ),
    say.el,
    result,
    codeList,
  );
}

/**
 * Replacing a school's enrolment secret (shown once). Devices already enrolled keep working; the
 * old secret stops enrolling new ones at once, so it is what IT does when a secret has leaked.
 * @param {import('../schools.js').Schools} schools @param {boolean} trustWide
 */
function enrolSecret(schools, trustWide) {
  const school = schoolPicker(schools, 'School whose secret to replace');
  const confirm = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox' }));
  const say = statusLine();
  const result = h('div', { 'aria-live': 'polite' });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'secret-h' },
    h('h2', { id: 'secret-h' }, 'Enrolment secret'),
    h(
      'p',
      { class: 'muted' },
      trustWide
        ? 'School devices enrol with their school’s secret (the default school’s is the organisation secret). Replace it if it may have leaked: the old one stops working at once; devices already enrolled are not affected. Installers and deployment tools that carry it need the new one.'
        : 'Your school’s devices enrol with its secret. Replace it if it may have leaked: the old one stops working at once; devices already enrolled are not affected. Installers and deployment tools that carry it need the new one.',
    ),
    h(
      'form',
      {
        class: 'filters',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          if (!confirm.checked) {
            say.say('Tick the box to confirm: the old secret stops working at once.', 'error');
            return;
          }
          try {
            const res = await api.rotateEnrolSecret(school ? school.value : undefined);
            confirm.checked = false;
            mount(
              result,
              shownOnce(
                `New secret for ${schoolName(schools, String(res?.schoolId ?? ''))} (shown once): `,
                String(res?.secret ?? ''),
                'data-enrol-secret',
              ),
            );
            say.say('Secret replaced.', 'ok');
          } catch (err) {
            say.say(/** @type {Error} */ (err).message, 'error');
          }
        },
      },
      school ? field('School', school) : null,
      h('label', { class: 'check' }, confirm, ' The old secret stops working at once'),
      h('button', { type: 'submit', class: 'secondary' }, 'Replace the secret'),
    ),
    say.el,
    result,
  );
}
