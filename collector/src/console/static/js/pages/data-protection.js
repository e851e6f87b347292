// Data protection (admin, DSL): the BYOD acceptable use agreement — the current text, its
// versions, the admin's edit (published as a new version that BYOD users accept at their next
// enrolment) and the acceptance export — and the DPIA draft generated from the configuration,
// with what changed since its previous version; subject access and erasure (subject-requests.js).
import { api } from '../api.js';
import { ext, field, fmtTime, h, mount } from '../h.js';
import { listOf } from '../model.js';
import { drawSubjectRequests } from '../subject-requests.js';
import { renderError, statusLine, table } from '../ui.js';

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const isAdmin = ctx.user.role === 'admin';
  const agreementSlot = h('div');
  const dpiaSlot = h('div');
  const requestsSlot = h('div');
  mount(main, h('h1', null, 'Data protection'), requestsSlot, agreementSlot, dpiaSlot);
  await Promise.all([
    drawSubjectRequests(requestsSlot, ctx),
    drawAgreement(agreementSlot, isAdmin),
    drawDpia(dpiaSlot, isAdmin),
  ]);
}

/**
 * Draws (or redraws) the agreement card; `done` is shown in the new card's status line, so a
 * message about the publish that caused the redraw stays visible.
 * @param {HTMLElement} slot @param {boolean} isAdmin @param {string} [done]
 */
async function drawAgreement(slot, isAdmin, done) {
  let current;
  let versions;
  try {
    current = await api.agreement();
    versions = listOf(await api.agreementVersions(), 'versions');
  } catch (err) {
    mount(slot, renderError(err));
    return;
  }
  const say = statusLine();
  const text = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { rows: '16', class: 'wide', maxlength: '20000', spellcheck: 'true' })
  );
  text.value = String(current?.text ?? '');
  const reason = /** @type {HTMLInputElement} */ (
    h('input', { maxlength: '500', placeholder: 'e.g. new wording agreed by governors' })
  );
  const edit = isAdmin
    ? h(
        'form',
        {
          onsubmit: async (/** @type {Event} */ e) => {
            e.preventDefault();
            try {
              const res = await api.publishAgreement(text.value, reason.value.trim());
              await drawAgreement(
                slot,
                isAdmin,
                `Published version ${String(res?.agreement?.version ?? '')}.`,
              );
            } catch (err) {
              say.say(/** @type {Error} */ (err).message, 'error');
            }
          },
        },
        field(
          'Agreement text',
          text,
          'Publishing makes a new version. Devices already enrolled keep the version their owner accepted and show "agreement outdated"; the new text is accepted at the next enrolment.',
        ),
        field('Reason', reason),
        h('button', { type: 'submit' }, 'Publish new version'),
        say.el,
      )
    : h('pre', { class: 'agreement', tabindex: '0' }, String(current?.text ?? ''));
  mount(
    slot,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'agreement-h' },
      h('h2', { id: 'agreement-h' }, 'BYOD acceptable use agreement'),
      h(
        'p',
        { class: 'muted small', 'data-agreement-version': String(current?.version ?? '') },
        `Current version ${String(current?.version ?? '')} · SHA-256 `,
        h('code', null, String(current?.sha256 ?? '')),
      ),
      edit,
      table(
        'Versions, newest first',
        ['Version', 'Published', 'By', 'SHA-256'],
        [...versions]
          .reverse()
          .map((v) =>
            h(
              'tr',
              null,
              h('td', null, ext(v.version, 20)),
              h('td', { class: 'nowrap' }, fmtTime(v.createdAt)),
              h('td', null, ext(v.author, 40)),
              h('td', null, h('code', null, ext(String(v.sha256 ?? '').slice(0, 16), 20)), '…'),
            ),
          ),
      ),
      h(
        'p',
        null,
        'Acceptances (name, date, version, text hash, device): ',
        h('a', { href: api.acceptancesUrl('csv'), download: '' }, 'download CSV'),
        ' · ',
        h('a', { href: api.acceptancesUrl('json'), download: '' }, 'download JSON'),
      ),
    ),
  );
  if (done) say.say(done, 'ok');
}

/** @param {HTMLElement} slot @param {boolean} isAdmin @param {string} [done] shown after a redraw */
async function drawDpia(slot, isAdmin, done) {
  let data;
  let versions;
  try {
    data = await api.dpia();
    versions = listOf(await api.dpiaVersions(), 'versions');
  } catch (err) {
    mount(slot, renderError(err));
    return;
  }
  const v = data?.version ?? {};
  const settings = data?.settings ?? {};
  const say = statusLine();
  /** @param {string} value @param {number} max */
  const input = (value, max) => {
    const el = /** @type {HTMLInputElement} */ (h('input', { maxlength: String(max), class: 'wide' }));
    el.value = String(value ?? '');
    return el;
  };
  const controller = input(settings.controller, 200);
  const dpo = input(settings.dpoContact, 300);
  const hosting = input(settings.hosting, 300);
  const form = isAdmin
    ? h(
        'form',
        {
          onsubmit: async (/** @type {Event} */ e) => {
            e.preventDefault();
            try {
              await api.putDpiaSettings({
                controller: controller.value.trim(),
                dpoContact: dpo.value.trim(),
                hosting: hosting.value.trim(),
                processors: Array.isArray(settings.processors) ? settings.processors : [],
              });
              await drawDpia(slot, isAdmin, 'Saved; the draft is regenerated.');
            } catch (err) {
              say.say(/** @type {Error} */ (err).message, 'error');
            }
          },
        },
        h('h3', null, 'What the configuration cannot know'),
        field('Data controller (the school)', controller),
        field('Data Protection Officer contact', dpo),
        field('Where the collector runs', hosting),
        h('button', { type: 'submit', class: 'secondary' }, 'Save'),
        say.el,
      )
    : null;
  const previous = versions.filter((x) => x.seq !== v.seq).slice(0, 5);
  mount(
    slot,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'dpia-h' },
      h('h2', { id: 'dpia-h' }, 'DPIA draft'),
      h(
        'p',
        { class: 'muted' },
        'Generated from the live configuration (policy, scope, roles, retention, storage). Download it, and complete the marked sections as the DPO. A new version is stored whenever the configuration changes.',
      ),
      h(
        'p',
        { 'data-dpia-version': String(v.seq ?? '') },
        `Version ${String(v.seq ?? '')} of ${fmtTime(v.at)} (${String(v.trigger ?? '')}) · `,
        h('a', { href: api.dpiaDocumentUrl(), download: '' }, 'download Markdown'),
      ),
      v.diff
        ? [h('h3', null, 'Changes from the previous version'), h('pre', { class: 'diff' }, String(v.diff))]
        : h('p', { class: 'muted' }, 'This is the first version.'),
      previous.length
        ? table(
            'Earlier versions',
            ['Version', 'Stored', 'Why'],
            previous.map((x) =>
              h(
                'tr',
                null,
                h('td', null, String(x.seq)),
                h('td', null, fmtTime(x.at)),
                h('td', null, String(x.trigger)),
              ),
            ),
          )
        : null,
      form,
    ),
  );
  if (done) say.say(done, 'ok');
}
