// Dual control in the console (collector/src/safeguarding/dual-control.ts): on the alert page,
// a DSL asks a second DSL before a screenshot of a serious alert can be revealed; on "Requests
// & notices" another DSL approves or rejects, and the school's setting is kept. The server
// decides every case; the console only shows its answer.
import { api } from './api.js';
import { ext, field, fmtTime, h, mount } from './h.js';
import { listOf } from './model.js';
import { OPTIONS } from './options.js';
import { renderError, statusLine, table } from './ui.js';

/**
 * @typedef {{ id: string, alertId: string, severity: number, reason: string, requestedBy: string,
 *   requestedAt: number, expiresAt: number, decidedBy?: string, revealUntil?: number,
 *   rejectReason?: string, stateNow: string }} RevealRequest
 * @typedef {{ required: boolean, allowed: boolean, code?: string, message?: string,
 *   request: RevealRequest | null }} RevealAccess
 */

/** @param {string} alertId @returns {Promise<RevealAccess>} */
export async function revealAccess(alertId) {
  return /** @type {RevealAccess} */ (await api.revealAccess(alertId));
}

/**
 * What stands in place of the reveal buttons while a second DSL is needed: the server's reason,
 * and either "waiting" or a form to ask (again).
 * @param {string} alertId @param {RevealAccess} access @param {() => Promise<void>} redraw
 */
export function revealGate(alertId, access, redraw) {
  const say = statusLine();
  const codes = OPTIONS.errorCodes;
  const r = access.request;
  if (access.code === codes.DUAL_CONTROL_PENDING && r) {
    return h(
      'div',
      { class: 'dual-control', 'data-state': 'pending' },
      h(
        'p',
        null,
        'Waiting for a second DSL to approve (asked ',
        fmtTime(r.requestedAt),
        ', open until ',
        fmtTime(r.expiresAt),
        ').',
      ),
      h('button', { type: 'button', class: 'secondary', onclick: () => void redraw() }, 'Check again'),
    );
  }
  const reason = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { rows: '2', maxlength: '500', required: true })
  );
  return h(
    'div',
    { class: 'dual-control', 'data-state': 'needs-approval' },
    h('p', null, ext(access.message ?? 'A second DSL must approve before this screenshot is revealed.', 300)),
    h(
      'form',
      {
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          if (!reason.value.trim()) return;
          try {
            await api.requestReveal(alertId, reason.value.trim());
            await redraw();
          } catch (err) {
            say.say(/** @type {Error} */ (err).message, 'error');
          }
        },
      },
      field('Why you need to see it', reason, 'The approving DSL reads this; it is kept in the audit log.'),
      h('button', { type: 'submit' }, 'Ask a second DSL'),
    ),
    say.el,
  );
}

/** The line above the reveal buttons once approved. @param {RevealAccess} access */
export function approvedNote(access) {
  const r = access.request;
  if (!access.required || !r) return null;
  return h(
    'p',
    { class: 'muted small dual-control', 'data-state': 'approved' },
    'Approved by ',
    ext(r.decidedBy ?? '', 40),
    r.revealUntil ? ` until ${fmtTime(r.revealUntil)}` : '',
    '. Each view is recorded with both names.',
  );
}

/**
 * Requests from other DSLs waiting for a decision (own requests are listed, not decidable).
 * @param {string} me the signed-in DSL's username
 */
export function revealRequestsSection(me) {
  const box = h('div', { id: 'reveal-requests' });
  const say = statusLine();
  const load = async () => {
    try {
      const waiting = /** @type {RevealRequest[]} */ (
        listOf(await api.revealRequests('pending'), 'requests')
      );
      /** @param {string} what @param {() => Promise<unknown>} fn */
      const act = async (what, fn) => {
        try {
          await fn();
          say.say(what, 'ok');
        } catch (err) {
          say.say(/** @type {Error} */ (err).message, 'error');
        }
        await load();
      };
      mount(
        box,
        say.el,
        waiting.length === 0
          ? h('p', { class: 'muted' }, 'No screenshot requests waiting.')
          : h(
              'div',
              { class: 'table-wrap' },
              table(
                'Requests to reveal a screenshot',
                ['Asked', 'Alert', 'Severity', 'Asked by', 'Reason', 'Open until', 'Decision'],
                waiting.map((r) =>
                  h(
                    'tr',
                    { 'data-reveal-request': r.id },
                    h('td', { class: 'nowrap' }, fmtTime(r.requestedAt)),
                    h(
                      'td',
                      null,
                      h('a', { href: `#/alerts/${encodeURIComponent(r.alertId)}` }, 'open alert'),
                    ),
                    h('td', null, String(r.severity)),
                    h('td', null, ext(r.requestedBy, 64)),
                    h('td', null, ext(r.reason, 300)),
                    h('td', { class: 'nowrap' }, fmtTime(r.expiresAt)),
                    h(
                      'td',
                      null,
                      r.requestedBy === me
                        ? h('span', { class: 'muted' }, 'yours: another DSL decides')
                        : h(
                            'div',
                            { class: 'buttons' },
                            h(
                              'button',
                              {
                                type: 'button',
                                onclick: () => act('Approved.', () => api.approveReveal(r.id)),
                              },
                              'Approve reveal',
                            ),
                            h(
                              'button',
                              {
                                type: 'button',
                                class: 'secondary',
                                onclick: () =>
                                  act('Rejected.', () => api.rejectReveal(r.id, 'rejected in the console')),
                              },
                              'Reject',
                            ),
                          ),
                    ),
                  ),
                ),
              ),
            ),
      );
    } catch (err) {
      mount(box, renderError(err));
    }
  };
  void load();
  return box;
}

/**
 * The school's dual-control setting (one record on the server). Loosening it while it is on
 * waits for another DSL, who approves it here.
 * @param {string} me the signed-in DSL's username
 */
export function dualControlSettingsForm(me) {
  const box = h('div', { id: 'dual-control-settings' });
  const say = statusLine();
  const load = async () => {
    let s;
    /** @type {{ id: string, to: { enabled: boolean, minSeverity: number, revealWindowMinutes: number }, reason: string, requestedBy: string, expiresAt: number } | null} */
    let pending;
    try {
      ({ settings: s, pending } = await api.dualControlSettings());
    } catch (err) {
      mount(box, renderError(err));
      return;
    }
    const enabled = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', checked: s.enabled }));
    /** @param {number} v @param {number} min @param {number} max */
    const num = (v, min, max) =>
      /** @type {HTMLInputElement} */ (
        h('input', { type: 'number', min: String(min), max: String(max), value: String(v), class: 'short' })
      );
    const minSeverity = num(s.minSeverity, 1, 5);
    const approval = num(s.approvalWindowMinutes, 1, 1440);
    const reveal = num(s.revealWindowMinutes, 1, 120);
    const reason = /** @type {HTMLInputElement} */ (h('input', { required: true, maxlength: '500' }));
    mount(
      box,
      h(
        'form',
        {
          class: 'card',
          onsubmit: async (/** @type {Event} */ e) => {
            e.preventDefault();
            try {
              const res = await api.putDualControlSettings({
                enabled: enabled.checked,
                minSeverity: Number(minSeverity.value),
                approvalWindowMinutes: Number(approval.value),
                revealWindowMinutes: Number(reveal.value),
                reason: reason.value.trim(),
              });
              await load();
              say.say(
                res.pending
                  ? 'Loosening dual control needs another DSL: waiting for their approval.'
                  : 'Saved.',
                'ok',
              );
            } catch (err) {
              say.say(/** @type {Error} */ (err).message, 'error');
            }
          },
        },
        h(
          'p',
          { class: 'muted small' },
          'When on, revealing a screenshot of an alert at or above the severity needs a second DSL. Last changed: ',
          s.updatedBy ? [ext(s.updatedBy, 40), ' ', fmtTime(s.updatedAt)] : 'never',
        ),
        field('Second DSL needed to reveal screenshots', enabled),
        field('From severity', minSeverity),
        field('Minutes a request waits for approval', approval),
        field('Minutes the requester may view once approved', reveal),
        field('Reason for the change', reason),
        h('button', { type: 'submit' }, 'Save dual control'),
        say.el,
      ),
      pending ? pendingChange(pending, me, load, say) : null,
    );
  };
  void load();
  return box;
}

/**
 * @param {{ to: { enabled: boolean, minSeverity: number, revealWindowMinutes: number }, reason: string, requestedBy: string, expiresAt: number }} p
 * @param {string} me @param {() => Promise<void>} reload @param {ReturnType<typeof statusLine>} say
 */
function pendingChange(p, me, reload, say) {
  const what = p.to.enabled
    ? `severity ${p.to.minSeverity}+, ${p.to.revealWindowMinutes} minutes to view`
    : 'off';
  return h(
    'div',
    { class: 'card dual-control', 'data-state': 'change-pending' },
    h(
      'p',
      null,
      ext(p.requestedBy, 40),
      ` asks to loosen dual control (${what}): `,
      ext(p.reason, 300),
      ` — open until ${fmtTime(p.expiresAt)}.`,
    ),
    p.requestedBy === me
      ? h('p', { class: 'muted' }, 'Yours: another DSL must approve it.')
      : h(
          'button',
          {
            type: 'button',
            onclick: async () => {
              try {
                await api.approveDualControlChange();
                await reload();
                say.say('Approved: the change applies now.', 'ok');
              } catch (err) {
                say.say(/** @type {Error} */ (err).message, 'error');
              }
            },
          },
          'Approve change',
        ),
  );
}
