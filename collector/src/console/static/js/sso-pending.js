// People who signed in with the school's provider and wait for a role (admin): give one (their
// account is made, linked to the provider's subject) or refuse (taken off the list, no account).
// Both need a reason, recorded in the audit log. Used by the Staff and Sign-in pages.
import { api } from './api.js';
import { ext, fmtTime, h, mount } from './h.js';
import { listOf } from './model.js';
import { OPTIONS } from './options.js';
import { renderError, table } from './ui.js';

/**
 * @typedef {{
 *   reason: () => string,
 *   needReason: () => void,
 *   say: (text: string, kind?: 'ok' | 'error' | '') => void,
 *   changed: () => Promise<void>,
 * }} PendingDeps
 */

/** Draws the waiting list into `slot`. @param {HTMLElement} slot @param {PendingDeps} deps */
export async function drawPending(slot, deps) {
  let pending;
  try {
    pending = listOf(await api.ssoPending(), 'pending');
  } catch (err) {
    mount(slot, renderError(err));
    return;
  }
  /** Runs `act` with the reason, or asks for one. @param {(reason: string) => Promise<string>} act */
  const withReason = async (act) => {
    const reason = deps.reason();
    if (!reason) {
      deps.say('Give a reason first (it is recorded in the audit log).', 'error');
      deps.needReason();
      return;
    }
    try {
      deps.say(await act(reason), 'ok');
      await deps.changed();
    } catch (err) {
      const e = /** @type {any} */ (err);
      deps.say(`${String(e?.message ?? e)}${e?.code ? ` (${e.code})` : ''}`, 'error');
    }
  };
  mount(
    slot,
    pending.length === 0
      ? h('p', { class: 'muted' }, 'Nobody is waiting for a role.')
      : table(
          'Waiting for a role (signed in with SSO)',
          ['Email', 'Name', 'Provider', 'Last sign-in', 'Role'],
          pending.map((p) => {
            const email = String(p.email ?? '');
            const pick = /** @type {HTMLSelectElement} */ (
              h(
                'select',
                { 'aria-label': `Role for ${email}` },
                OPTIONS.ssoRoles.map((r) => h('option', { value: r }, r)),
              )
            );
            return h(
              'tr',
              { 'data-pending': email },
              h('td', null, ext(email, 120)),
              h('td', null, ext(p.name, 64)),
              h('td', null, ext(p.provider, 32)),
              h('td', { class: 'nowrap' }, fmtTime(p.lastSeenAt)),
              h(
                'td',
                null,
                pick,
                ' ',
                h(
                  'button',
                  {
                    type: 'button',
                    onclick: () =>
                      withReason(async (reason) => {
                        await api.ssoAssign(String(p.id), pick.value, reason);
                        return `${email} can now sign in as ${pick.value}.`;
                      }),
                  },
                  'Give role',
                ),
                ' ',
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary',
                    onclick: () =>
                      withReason(async (reason) => {
                        await api.ssoRefuse(String(p.id), reason);
                        return `${email} was refused: no account was made (signing in again puts them back on this list).`;
                      }),
                  },
                  'Refuse',
                ),
              ),
            );
          }),
        ),
  );
}
