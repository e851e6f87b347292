// The policy editor used for the default policy and for one device's override. It edits the
// fields staff change (idle lock, USB mode and allow list, capture categories, severity, age
// band, typed and on-screen text) and always asks why: every relaxation is recorded with who, when and why.
import { ext, field, h } from './h.js';
import { OPTIONS } from './options.js';
import { statusLine } from './ui.js';

// The values come from the collector (options.js); the words for them are the console's.
/** @type {Record<string, string>} */
const USB_LABELS = {
  'block-unencrypted-writes': 'Block writes to unencrypted USB storage (recommended)',
  'block-all-writes': 'Block all USB writes',
  audit: 'Record only',
  allow: 'Allow',
};
// The recommended mode first.
const USB_MODES = [...OPTIONS.usbModes]
  .sort((a, b) => Number(b === 'block-unencrypted-writes') - Number(a === 'block-unencrypted-writes'))
  .map((v) => [v, USB_LABELS[v] ?? v]);
const AGE_BANDS = OPTIONS.ageBands;
const CATEGORIES = OPTIONS.categories;

/**
 * A school's or group's layer saves only what it sets: the fields that differ from what it
 * inherits (`above`), plus the fields it set before (kept, so saving does not drop them). The
 * whole form would otherwise pin every field and nothing changed above would reach its devices.
 * @param {any} full the form's values @param {any} above @param {any} existing the layer's patch
 */
export function layerPatch(full, above, existing) {
  /** @type {Record<string, Record<string, unknown>>} */
  const out = {};
  for (const [section, fields] of Object.entries(full)) {
    for (const [name, value] of Object.entries(/** @type {Record<string, unknown>} */ (fields))) {
      const inherited = above?.[section]?.[name];
      const setBefore = existing?.[section] !== undefined && name in existing[section];
      if (setBefore || JSON.stringify(value) !== JSON.stringify(inherited)) {
        out[section] = { ...out[section], [name]: value };
      }
    }
  }
  return out;
}

/**
 * @param {any} policy the current policy (full shape from @custodian/policy)
 * @param {(patch: any, reason: string) => Promise<void>} save
 * @param {{ title: string, readOnly?: boolean, layer?: { above: any, patch: any } }} opts
 *   `layer`: edit a school or group layer (saves layerPatch, not the whole form)
 */
export function policyForm(policy, save, opts) {
  const p = policy ?? {};
  const idle = p.idleLock ?? {};
  const usb = p.usb ?? {};
  const cap = p.capture ?? {};
  const ro = Boolean(opts.readOnly);

  const idleEnabled = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', checked: idle.enabled !== false, disabled: ro })
  );
  const idleMinutes = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'number',
      min: '1',
      max: '240',
      required: true,
      class: 'short',
      value: Math.round((idle.idleLockSeconds ?? 900) / 60),
      disabled: ro,
    })
  );
  const reportOnly = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', checked: Boolean(idle.reportOnly), disabled: ro })
  );
  const usbMode = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { disabled: ro },
      USB_MODES.map(([v, label]) => h('option', { value: v, selected: usb.mode === v }, label)),
    )
  );
  const allowRows = h('div', { class: 'allow-list' });
  /** @param {any} entry */
  const allowRow = (entry) => {
    const inputs = {
      vendorId: h('input', {
        class: 'short',
        placeholder: 'vendor id',
        pattern: '[0-9a-fA-F]{4}',
        value: entry?.vendorId ?? '',
        'aria-label': 'USB vendor id',
        disabled: ro,
      }),
      productId: h('input', {
        class: 'short',
        placeholder: 'product id',
        pattern: '[0-9a-fA-F]{4}',
        value: entry?.productId ?? '',
        'aria-label': 'USB product id',
        disabled: ro,
      }),
      serial: h('input', {
        placeholder: 'serial (empty = any)',
        value: entry?.serial ?? '',
        'aria-label': 'USB serial',
        disabled: ro,
      }),
      reason: h('input', {
        placeholder: 'why this stick is allowed',
        value: entry?.reason ?? '',
        'aria-label': 'Reason for allowing',
        disabled: ro,
      }),
    };
    const rowEl = h(
      'div',
      { class: 'allow-row' },
      Object.values(inputs),
      ro
        ? null
        : h('button', { type: 'button', class: 'secondary', onclick: () => rowEl.remove() }, 'Remove'),
    );
    /** @type {any} */ (rowEl).read = () => ({
      vendorId: /** @type {HTMLInputElement} */ (inputs.vendorId).value.trim().toLowerCase(),
      productId: /** @type {HTMLInputElement} */ (inputs.productId).value.trim().toLowerCase(),
      serial: /** @type {HTMLInputElement} */ (inputs.serial).value.trim(),
      approvedBy: entry?.approvedBy ?? '',
      reason: /** @type {HTMLInputElement} */ (inputs.reason).value.trim(),
    });
    return rowEl;
  };
  for (const entry of usb.allow ?? []) allowRows.appendChild(allowRow(entry));

  const captureEnabled = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', checked: cap.enabled !== false, disabled: ro })
  );
  const typedText = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', checked: cap.typedText !== false, disabled: ro })
  );
  const screenText = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', checked: cap.screenText !== false, disabled: ro })
  );
  const minSeverity = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { disabled: ro },
      [1, 2, 3, 4, 5].map((n) => h('option', { value: n, selected: (cap.minSeverity ?? 3) === n }, `${n}`)),
    )
  );
  const ageBand = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { disabled: ro },
      AGE_BANDS.map((b) => h('option', { value: b, selected: (cap.ageBand ?? 'secondary') === b }, b)),
    )
  );
  const selected = new Set(cap.categories ?? []);
  const catBoxes = CATEGORIES.map((c) => {
    const box = /** @type {HTMLInputElement} */ (
      h('input', {
        type: 'checkbox',
        value: c,
        checked: selected.size === 0 || selected.has(c),
        disabled: ro,
      })
    );
    return { c, box, label: h('label', { class: 'check' }, box, ` ${c}`) };
  });
  const reason = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { 'aria-required': 'true', rows: '2', maxlength: '500', disabled: ro })
  );
  const status = statusLine();

  const form = h(
    'form',
    {
      class: 'card policy-form',
      onsubmit: async (/** @type {SubmitEvent} */ ev) => {
        ev.preventDefault();
        if (!reason.value.trim()) {
          status.say('Say why you are changing the policy: it goes in the change log.', 'error');
          reason.focus();
          return;
        }
        const categories = catBoxes.filter((x) => x.box.checked).map((x) => x.c);
        const patch = {
          idleLock: {
            enabled: idleEnabled.checked,
            idleLockSeconds: Number(idleMinutes.value) * 60,
            reportOnly: reportOnly.checked,
          },
          usb: {
            mode: usbMode.value,
            allow: [...allowRows.children].map((r) => /** @type {any} */ (r).read()),
          },
          capture: {
            enabled: captureEnabled.checked,
            typedText: typedText.checked,
            screenText: screenText.checked,
            minSeverity: Number(minSeverity.value),
            ageBand: ageBand.value,
            categories: categories.length === CATEGORIES.length ? [] : categories,
          },
        };
        status.say('Saving…');
        try {
          await save(
            opts.layer ? layerPatch(patch, opts.layer.above, opts.layer.patch) : patch,
            reason.value.trim(),
          );
          reason.value = '';
          status.say('Saved. Connected devices receive the new policy now.', 'ok');
        } catch (err) {
          status.say(/** @type {Error} */ (err).message, 'error');
        }
      },
    },
    h(
      'h2',
      null,
      opts.title,
      p.version !== undefined ? h('span', { class: 'muted' }, ` · version ${p.version}`) : null,
    ),
    h(
      'fieldset',
      null,
      h('legend', null, 'Idle lock'),
      h('label', { class: 'check' }, idleEnabled, ' Lock the screen when idle'),
      field('Lock after (minutes)', idleMinutes),
      h('label', { class: 'check' }, reportOnly, ' Report only (never lock — an exemption)'),
      idle.exemptionReason ? h('p', { class: 'muted' }, 'Exemption: ', ext(idle.exemptionReason, 200)) : null,
    ),
    h(
      'fieldset',
      null,
      h('legend', null, 'USB storage'),
      field('Mode', usbMode),
      h('p', { class: 'muted small' }, 'Allowed devices (exemptions):'),
      allowRows,
      ro
        ? null
        : h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => allowRows.appendChild(allowRow(null)) },
            'Add allowed device',
          ),
    ),
    h(
      'fieldset',
      null,
      h('legend', null, 'Safeguarding capture'),
      h('label', { class: 'check' }, captureEnabled, ' Capture flagged activity with a screenshot'),
      h(
        'label',
        { class: 'check' },
        typedText,
        ' Match typed text (only the matched sentence is kept, secret-looking words masked)',
      ),
      h('label', { class: 'check' }, screenText, ' Match on-screen text (OCR of the active window)'),
      field('Minimum severity', minSeverity),
      field('Age band', ageBand),
      h(
        'div',
        { class: 'cats', role: 'group', 'aria-label': 'Categories' },
        catBoxes.map((x) => x.label),
      ),
    ),
    ro
      ? h('p', { class: 'muted' }, 'Your role can read this policy but not change it.')
      : [
          field('Reason for this change (required, recorded in the change log)', reason),
          h('button', { type: 'submit' }, 'Save policy'),
          status.el,
        ],
  );
  return form;
}
