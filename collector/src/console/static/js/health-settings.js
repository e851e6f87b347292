// The school's device health settings form (Device health page): school hours, the offline
// threshold, failure thresholds, stale days and the daily digest. One record on the server.
import { api } from './api.js';
import { field, h, mount } from './h.js';
import { renderError, statusLine } from './ui.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** @param {string} type @param {unknown} value @param {Record<string, unknown>} [attrs] */
const input = (type, value, attrs = {}) =>
  /** @type {HTMLInputElement} */ (h('input', { type, value: String(value), ...attrs }));

/** @param {HTMLElement} box */
export async function renderHealthSettings(box) {
  let s;
  try {
    s = (await api.healthSettings()).settings;
  } catch (err) {
    mount(box, renderError(err));
    return;
  }
  const say = statusLine();
  const tz = input('text', s.schoolHours.timeZone, { maxlength: 64 });
  const start = input('time', s.schoolHours.start);
  const end = input('time', s.schoolHours.end === '24:00' ? '23:59' : s.schoolHours.end);
  const days = DAYS.map((d, i) =>
    input('checkbox', i, { checked: s.schoolHours.days.includes(i), 'aria-label': d, 'data-day': i }),
  );
  const offline = input('number', s.offlineMinutes, { min: 0.05, max: 1440, step: 'any' });
  const lock = input('number', s.lockFailures, { min: 1, max: 100 });
  const usb = input('number', s.usbFailures, { min: 1, max: 100 });
  const stale = input('number', s.staleDays, { min: 0, max: 3650 });
  const digestOn = input('checkbox', 1, { checked: s.digest.enabled });
  const digestAt = input('time', s.digest.at);
  const save = async () => {
    try {
      await api.putHealthSettings({
        schoolHours: {
          timeZone: tz.value.trim(),
          days: days.filter((d) => d.checked).map((d) => Number(d.value)),
          start: start.value,
          end: end.value === '23:59' ? '24:00' : end.value,
        },
        offlineMinutes: Number(offline.value),
        lockFailures: Number(lock.value),
        usbFailures: Number(usb.value),
        staleDays: Number(stale.value),
        digest: { enabled: digestOn.checked, at: digestAt.value },
      });
      say.say('Saved.', 'ok');
    } catch (err) {
      say.say(/** @type {Error} */ (err).message, 'error');
    }
  };
  mount(
    box,
    h(
      'form',
      {
        class: 'health-settings',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          void save();
        },
      },
      field('Time zone', tz, 'IANA name, e.g. Europe/London'),
      h(
        'fieldset',
        null,
        h('legend', null, 'School days'),
        days.map((d, i) => h('label', { class: 'inline' }, d, ` ${DAYS[i]} `)),
      ),
      field('School starts', start),
      field('School ends', end, '23:59 means the end of the day'),
      field('Offline alert after (minutes in school hours)', offline),
      field('Lock failures in a row before an alert', lock),
      field('USB blocking failures before an alert', usb),
      field('Stale after (days unseen)', stale),
      h('label', { class: 'inline' }, digestOn, ' Daily digest of open health items'),
      field('Digest time', digestAt),
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Save settings')),
      say.el,
    ),
  );
}
