// Live device table for IT staff. The list is fetched once; after that the live feed's `status`
// and `device` messages update rows in place (redraws coalesced), so the table follows the
// collector's view without a reload and without a request per message.
import { api } from '../api.js';
import { hiddenNote } from '../events.js';
import { badge, ext, fmtAgo, fmtTime, h, mount, neutralise, truncate } from '../h.js';
import { onLive, onLiveStatus } from '../live.js';
import { deviceView, listOf } from '../model.js';
import { replacementQueue } from '../replacements.js';
import { loadSchools, schoolName, schoolOf, schoolSelect } from '../schools.js';
import { loading, renderError, table } from '../ui.js';

/** @typedef {import('../model.js').DeviceView} DeviceView */

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  mount(main, h('h1', null, 'Devices'), loading('Loading devices'));
  // Tenancy: trust-wide staff of a trust with several schools see each device's school and a filter.
  const schools = await loadSchools(ctx.user);
  const school = schoolSelect(schools);
  /** @type {Map<string, DeviceView>} */
  const devices = new Map();
  try {
    for (const d of listOf(await api.devices(), 'devices')) {
      const v = deviceView(d);
      devices.set(v.id, v);
    }
  } catch (err) {
    mount(main, h('h1', null, 'Devices'), renderError(err));
    return;
  }

  const offlineHours = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'number',
      min: '0',
      step: '1',
      inputmode: 'numeric',
      placeholder: 'any',
      class: 'short',
    })
  );
  const usbOnly = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox' }));
  const lockFailing = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox' }));
  const byodOnly = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox' }));
  const noExtension = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox' }));
  const search = /** @type {HTMLInputElement} */ (
    h('input', { type: 'search', placeholder: 'hostname or user' })
  );
  const liveState = h('span', { class: 'live-state', role: 'status' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const queue = replacementQueue();

  /** @param {DeviceView} d */
  const visible = (d) => {
    if (school.value && schoolOf(d.raw) !== school.value) return false;
    const hours = offlineHours.value === '' ? null : Number(offlineHours.value);
    if (hours !== null && (d.online || (d.lastSeen && Date.now() - d.lastSeen < hours * 3600_000)))
      return false;
    if (usbOnly.checked && d.usb.length === 0) return false;
    if (lockFailing.checked && !d.lockFailing) return false;
    if (byodOnly.checked && !d.byod) return false;
    // Reported unavailable: no browser extension connected right now (browser closed, or running without it).
    if (noExtension.checked && !d.unavailable.some((c) => c.name === 'browser_extension')) return false;
    const q = search.value.trim().toLowerCase();
    if (q && !`${d.hostname} ${d.user}`.toLowerCase().includes(q)) return false;
    return true;
  };

  /** @param {DeviceView} d */
  const row = (d) =>
    h(
      'tr',
      { 'data-device-id': d.id, class: d.online ? 'online' : 'offline' },
      h(
        'td',
        null,
        h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, ext(d.hostname || d.id, 40)),
        d.byod ? [' ', badge('BYOD', 'info')] : null,
        d.scope?.applies && !d.scope.inScope ? [' ', badge('out of scope', 'warn')] : null,
        d.agreementOutdated ? [' ', badge('agreement outdated', 'warn')] : null,
        d.revoked ? [' ', badge('revoked', 'bad')] : null,
        // Clone suspicion (a replacement, a re-enrolment request, two streams): details on the device page.
        d.raw?.cloneSuspicion?.length ? [' ', badge('suspected clone', 'warn')] : null,
      ),
      schools.show ? h('td', { 'data-school': schoolOf(d.raw) }, schoolName(schools, schoolOf(d.raw))) : null,
      h(
        'td',
        { class: 'status-cell' },
        d.online
          ? badge('online', 'ok')
          : d.uninstalled
            ? badge('uninstalled', 'bad')
            : badge('offline', 'off'),
        h(
          'div',
          { class: 'muted small', title: fmtTime(d.uninstalled?.at ?? d.lastSeen) },
          d.online
            ? ''
            : d.uninstalled
              ? `uninstalled ${fmtAgo(d.uninstalled.at)}`
              : `last seen ${fmtAgo(d.lastSeen)}`,
        ),
      ),
      h('td', null, d.user ? ext(d.user, 32) : h('span', { class: 'muted' }, '—')),
      h(
        'td',
        { class: 'window-cell' },
        d.app ? h('div', null, ext(d.app, 40)) : null,
        d.title ? h('div', { class: 'muted small' }, ext(d.title, 80)) : null,
        !d.title && d.urlHidden === 'domain-only' && d.url
          ? h('div', { class: 'muted small' }, ext(d.url, 80))
          : null,
        !d.title && d.titleHidden === 'safeguarding' ? h('div', null, hiddenNote('safeguarding')) : null,
        !d.app && !d.title ? h('span', { class: 'muted' }, '—') : null,
      ),
      h(
        'td',
        null,
        d.locked
          ? badge('locked', 'info')
          : d.idle === 'idle'
            ? badge('idle', 'warn')
            : d.idle
              ? badge(d.idle)
              : '—',
        d.lockFailing
          ? [' ', h('span', { class: 'badge bad', title: d.lockFailReason }, 'lock failing')]
          : null,
      ),
      h(
        'td',
        null,
        d.usb.length === 0
          ? h('span', { class: 'muted' }, 'none')
          : d.usb.map((u) =>
              h(
                'div',
                { class: 'small' },
                ext(u.label || u.product || u.device, 30),
                ' ',
                badge(
                  u.encryption === 'encrypted' ? 'encrypted' : 'unencrypted',
                  u.encryption === 'encrypted' ? 'ok' : 'warn',
                ),
                u.decision ? [' ', badge(u.decision.replace(/_/g, ' '))] : null,
              ),
            ),
      ),
      h('td', null, ext(d.agentVersion || '—', 20)),
      h('td', null, d.policyVersion === null ? '—' : `v${d.policyVersion}`),
      h(
        'td',
        null,
        d.unavailable.length === 0
          ? h('span', { class: 'muted' }, '—')
          : d.unavailable.map((c) =>
              h('div', { class: 'small', title: neutralTitle(c.reason) }, badge(c.name, 'warn')),
            ),
      ),
    );

  const draw = () => {
    const list = [...devices.values()].filter(visible).sort((a, b) => {
      if (a.online !== b.online) return a.online ? -1 : 1;
      return a.hostname.localeCompare(b.hostname);
    });
    mount(tbody, list.map(row));
    const online = [...devices.values()].filter((d) => d.online).length;
    summary.textContent = `${list.length} shown of ${devices.size} devices · ${online} online`;
    if (devices.size === 0) {
      mount(
        tbody,
        h(
          'tr',
          null,
          h(
            'td',
            { colspan: schools.show ? '10' : '9', class: 'muted' },
            'No devices enrolled yet. Enrol one from Policy & enrolment.',
          ),
        ),
      );
    }
  };

  const filters = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (/** @type {Event} */ e) => e.preventDefault(),
      oninput: draw,
      onchange: draw,
    },
    h('label', null, 'Search ', search),
    schools.show ? h('label', null, 'School ', school) : null,
    h('label', null, 'Offline more than ', offlineHours, ' hours'),
    h('label', { class: 'check' }, usbOnly, ' USB present'),
    h('label', { class: 'check' }, lockFailing, ' Lock failing'),
    h('label', { class: 'check' }, byodOnly, ' BYOD'),
    h('label', { class: 'check' }, noExtension, ' Browser extension not connected'),
  );

  mount(
    main,
    h('div', { class: 'page-head' }, h('h1', null, 'Devices'), liveState),
    queue.el,
    filters,
    summary,
    h(
      'div',
      { class: 'table-wrap' },
      table(
        'Devices and their live status',
        [
          'Device',
          ...(schools.show ? ['School'] : []),
          'Status',
          'User',
          'Current app / window',
          'Idle / lock',
          'USB volumes',
          'Agent',
          'Policy',
          'Not available',
        ],
        [],
        { id: 'devices-table' },
      ),
    ),
  );
  main.querySelector('#devices-table tbody')?.replaceWith(tbody);
  draw();

  // Many devices report every minute: redraw at most every 250 ms, however many messages arrive.
  /** @type {ReturnType<typeof setTimeout> | null} */
  let drawTimer = null;
  const drawSoon = () => {
    drawTimer ??= setTimeout(() => {
      drawTimer = null;
      draw();
    }, 250);
  };
  /** @type {Map<string, ReturnType<typeof setTimeout>>} */
  const pending = new Map();
  /** A device this page has not seen yet (just enrolled): read it once. @param {string} id */
  const fetchDevice = (id) => {
    if (pending.has(id)) return;
    pending.set(
      id,
      setTimeout(async () => {
        try {
          const v = deviceView(await api.device(id));
          devices.set(v.id, v);
          drawSoon();
        } catch {
          // the device's next status message tries again
        } finally {
          pending.delete(id);
        }
      }, 100),
    );
  };
  // `status` carries the device's whole live status and `device` the whole device record, so the
  // table updates from the message itself, without a request per message.
  const offStatusMsg = onLive('status', (status) => {
    const id = status?.deviceId;
    if (typeof id !== 'string') return;
    const known = devices.get(id);
    if (!known) return fetchDevice(id);
    devices.set(id, deviceView({ ...known.raw, status }));
    drawSoon();
  });
  const offDeviceMsg = onLive('device', (device) => {
    if (typeof device?.id !== 'string') return;
    devices.set(device.id, deviceView(device));
    drawSoon();
  });
  const offStatus = onLiveStatus((up) => {
    liveState.textContent = up ? '● live' : '○ reconnecting…';
    liveState.className = `live-state ${up ? 'up' : 'down'}`;
  });
  // Ages ("last seen 3 min ago") move on even when nothing arrives.
  const tick = setInterval(draw, 15_000);
  return () => {
    queue.stop();
    offStatusMsg();
    offDeviceMsg();
    offStatus();
    clearInterval(tick);
    if (drawTimer) clearTimeout(drawTimer);
    for (const t of pending.values()) clearTimeout(t);
  };
}

/** @param {string} s */
function neutralTitle(s) {
  return truncate(neutralise(s), 300).text;
}
