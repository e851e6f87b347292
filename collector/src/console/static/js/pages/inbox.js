// The DSL's requests and notices: DSL accounts an admin asked for (create, make a DSL of, reset
// a DSL's password) wait here for a DSL's decision; an approval shows the account's one-time
// password once, to hand over. Below, what the DSL has been told (a capture lowered on a device,
// DSL account changes), newest first.
import { api } from '../api.js';
import { dualControlSettingsForm, revealRequestsSection } from '../dual-control.js';
import { ext, fmtTime, h, mount } from '../h.js';
import { listOf } from '../model.js';
import { loading, renderError, statusLine, table } from '../ui.js';

const KIND = { create: 'new DSL account', role: 'make a DSL', reset: 'reset DSL password' };

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const say = statusLine();
  const secret = h('div', { 'aria-live': 'polite' });
  const requests = h('div', null, loading('Loading requests'));
  const notices = h('div', null, loading('Loading notices'));

  const load = async () => {
    try {
      const pending = listOf(await api.dslRequests(), 'requests').filter((r) => r.state === 'pending');
      mount(
        requests,
        pending.length === 0
          ? h('p', { class: 'muted' }, 'No requests waiting.')
          : h(
              'div',
              { class: 'table-wrap' },
              table(
                'Requests waiting for a DSL',
                ['Asked', 'Account', 'Request', 'Asked by', 'Reason', 'Decision'],
                pending.map((r) =>
                  h(
                    'tr',
                    { 'data-request': r.id },
                    h('td', { class: 'nowrap' }, fmtTime(r.requestedAt)),
                    h('td', null, ext(r.username, 64)),
                    h('td', null, KIND[/** @type {keyof typeof KIND} */ (r.kind)] ?? ext(r.kind, 20)),
                    h('td', null, ext(r.requestedBy, 64)),
                    h('td', null, ext(r.reason, 200)),
                    h(
                      'td',
                      null,
                      h(
                        'div',
                        { class: 'buttons' },
                        h(
                          'button',
                          {
                            type: 'button',
                            onclick: async () => {
                              try {
                                const res = await api.approveDslRequest(r.id);
                                mount(
                                  secret,
                                  h(
                                    'div',
                                    { class: 'code-box' },
                                    h(
                                      'p',
                                      null,
                                      'One-time password for ',
                                      ext(res.user?.username ?? r.username, 64),
                                      ' (shown once; hand it over in person; they must change it at first sign-in):',
                                    ),
                                    h('code', { class: 'big' }, String(res.oneTimePassword ?? '')),
                                  ),
                                );
                                say.say('Approved.', 'ok');
                                await load();
                              } catch (err) {
                                say.say(/** @type {Error} */ (err).message, 'error');
                              }
                            },
                          },
                          'Approve',
                        ),
                        h(
                          'button',
                          {
                            type: 'button',
                            class: 'secondary',
                            onclick: async () => {
                              try {
                                await api.rejectDslRequest(r.id, 'rejected in the console');
                                say.say('Rejected.', 'ok');
                                await load();
                              } catch (err) {
                                say.say(/** @type {Error} */ (err).message, 'error');
                              }
                            },
                          },
                          'Reject',
                        ),
                      ),
                    ),
                  ),
                ),
                { id: 'dsl-requests' },
              ),
            ),
      );
      const told = listOf(await api.notifications(), 'notifications');
      mount(
        notices,
        h(
          'div',
          { class: 'table-wrap' },
          table(
            'Notices for the DSL, newest first',
            ['When', 'Notice'],
            told.map((n) =>
              h(
                'tr',
                { 'data-kind': n.kind },
                h('td', { class: 'nowrap' }, fmtTime(n.at)),
                h('td', null, ext(n.subject, 400)),
              ),
            ),
            { id: 'dsl-notices' },
          ),
        ),
      );
    } catch (err) {
      mount(requests, renderError(err));
    }
  };
  mount(
    main,
    h('h1', null, 'Requests & notices'),
    say.el,
    secret,
    h('h2', null, 'DSL accounts waiting for a decision'),
    requests,
    h('h2', null, 'Screenshots waiting for a second DSL'),
    revealRequestsSection(ctx.user.username),
    h('h2', null, 'Dual control'),
    dualControlSettingsForm(ctx.user.username),
    h('h2', null, 'Notices'),
    notices,
  );
  await load();
}
