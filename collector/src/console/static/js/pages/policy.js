// Default policy (admin edits, IT reads), BYOD enrolment codes, and the change log of every
// policy change with who, when and why.
import { api } from '../api.js';
import { ext, extLong, field, fmtTime, h, mount } from '../h.js';
import { listOf } from '../model.js';
import { policyForm } from '../policy-form.js';
import { layersSection } from '../policy-layers.js';
import { loading, renderError, statusLine, table } from '../ui.js';

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const isAdmin = ctx.user.role === 'admin';
  // The collector lets IT staff change policy too (with a reason); BYOD codes are admin only.
  const canEdit = isAdmin || ctx.user.role === 'it';
  const policySlot = h('div', null, loading('Loading policy'));
  const codesSlot = isAdmin ? enrolCodes() : null;
  const logSlot = h(
    'section',
    { class: 'card', 'aria-labelledby': 'log-h' },
    h('h2', { id: 'log-h' }, 'Change log'),
    loading(),
  );
  mount(main, h('h1', null, 'Policy & enrolment'), policySlot, layersSection(isAdmin), codesSlot, logSlot);

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
          title: 'Trust default policy (every device, under its school, group and own layers)',
          readOnly: !canEdit,
        },
      ),
    );
  } catch (err) {
    mount(policySlot, renderError(err));
  }
  await loadLog();
}

function enrolCodes() {
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
              ['Code starts', 'Note', 'Created', 'Expires', 'State'],
              codes.map((c) =>
                h(
                  'tr',
                  null,
                  h('td', null, h('code', null, ext(`${c.hint}…`, 12))),
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
            });
            const code = String(res?.code ?? '');
            const link = `${location.origin}/enrol?code=${encodeURIComponent(code)}`;
            mount(
              result,
              h(
                'div',
                { class: 'code-box' },
                h(
                  'p',
                  null,
                  'Code (shown once): ',
                  h('code', { class: 'big', 'data-enrol-code': code }, code),
                ),
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
      field('Valid for (hours)', hours),
      field('Note', note),
      h('button', { type: 'submit' }, 'Create code'),
    ),
    say.el,
    result,
    codeList,
  );
}
