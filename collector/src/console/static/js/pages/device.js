// One device: live status, timeline (kind filter, time range, paging by cursor), inventory,
// USB history and its policy (admins edit the per-device override here, with a reason), and its
// identity (device-identity.js: replacement, clone suspicion, revoke / retire with a reason).
import { api } from '../api.js';
import { deviceCommands } from '../device-commands.js';
import { identitySection } from '../device-identity.js';
import { deviceSchoolSection } from '../device-school.js';
import { eventRow, hiddenNote, KIND_LABELS, kindOf, payloadOf, USB_KINDS } from '../events.js';
import { badge, ext, fmtAgo, fmtBytes, fmtTime, h, mount } from '../h.js';
import { onLive } from '../live.js';
import { deviceView, listOf } from '../model.js';
import { policyForm } from '../policy-form.js';
import { fillDeviceLayers } from '../policy-layers.js';
import { loading, renderError, table } from '../ui.js';

const PAGE = 50;

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const id = ctx.params.id ?? '';
  mount(main, loading('Loading device'));
  /** @type {import('../model.js').DeviceView} */
  let d;
  try {
    d = deviceView(await api.device(id));
  } catch (err) {
    mount(main, h('p', null, h('a', { href: '#/devices' }, '← Devices')), renderError(err));
    return;
  }
  const statusBox = h('section', { class: 'card', 'aria-labelledby': 'live-h' });
  const drawStatus = () => {
    mount(
      statusBox,
      h('h2', { id: 'live-h' }, 'Now'),
      h(
        'dl',
        { class: 'facts' },
        fact(
          'Status',
          d.online
            ? badge('online', 'ok')
            : d.uninstalled
              ? [
                  badge('uninstalled', 'bad'),
                  ` ${fmtAgo(d.uninstalled.at)} (${fmtTime(d.uninstalled.at)}), `,
                  ext(d.uninstalled.method, 64),
                  d.uninstalled.user ? [' by ', ext(d.uninstalled.user, 64)] : '',
                ]
              : [badge('offline', 'off'), ` last seen ${fmtAgo(d.lastSeen)} (${fmtTime(d.lastSeen)})`],
        ),
        fact('User', d.user ? ext(d.user, 60) : '—'),
        fact('Current app', d.app ? ext(d.app, 60) : '—'),
        fact('Window title', d.title ? ext(d.title, 200) : d.titleHidden ? hiddenNote(d.titleHidden) : '—'),
        fact(
          d.urlHidden === 'domain-only' ? 'Site' : 'URL',
          d.url ? ext(d.url, 200) : d.urlHidden ? hiddenNote(d.urlHidden) : '—',
        ),
        fact('Idle / lock', [
          d.locked ? 'locked' : d.idle || '—',
          d.lockFailing ? [' ', badge('lock failing', 'bad')] : null,
        ]),
        fact(
          'USB volumes',
          d.usb.length
            ? d.usb.map((u) =>
                h('div', null, ext(u.label || u.device, 40), ' ', badge(u.encryption || 'unknown')),
              )
            : 'none',
        ),
        fact(
          'Agent / policy',
          `${d.agentVersion || '—'} · policy ${d.policyVersion === null ? '—' : `v${d.policyVersion}`}`,
        ),
        fact(
          'Unavailable capabilities',
          d.unavailable.length
            ? d.unavailable.map((c) => h('div', null, badge(c.name, 'warn'), ' ', ext(c.reason, 120)))
            : 'none',
        ),
        fact(
          'Ownership',
          d.byod
            ? [
                'BYOD (personal device)',
                d.agreementOutdated
                  ? [
                      ' ',
                      badge('agreement outdated', 'warn'),
                      ' accepts the new agreement at its next enrolment',
                    ]
                  : null,
              ]
            : 'School-owned',
        ),
        fact(
          'Monitoring scope',
          !d.scope
            ? '—'
            : [
                !d.scope.applies
                  ? badge('always', 'info')
                  : d.scope.inScope
                    ? badge('in scope', 'ok')
                    : badge('out of scope', 'warn'),
                ' ',
                ext(d.scope.reason, 160),
              ],
        ),
        fact('OS', ext(d.os, 40)),
      ),
    );
  };
  drawStatus();

  // ---- timeline
  const kindSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { multiple: true, size: '6' },
      Object.entries(KIND_LABELS).map(([k, label]) => h('option', { value: k }, label)),
    )
  );
  const from = /** @type {HTMLInputElement} */ (h('input', { type: 'datetime-local' }));
  const to = /** @type {HTMLInputElement} */ (h('input', { type: 'datetime-local' }));
  const tlBody = h('tbody');
  const tlStatus = h('p', { class: 'muted', role: 'status' });
  /** @type {(string | null)[]} cursors of the pages seen, for "newer" */
  let cursors = [null];
  let pageIndex = 0;
  /** @type {string | null} */
  let nextCursor = null;
  const newer = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'secondary', onclick: () => loadPage(pageIndex - 1) }, '← Newer')
  );
  const older = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'secondary', onclick: () => loadPage(pageIndex + 1) }, 'Older →')
  );

  const params = () => ({
    kinds: [...kindSelect.selectedOptions].map((o) => o.value).join(','),
    from: from.value ? new Date(from.value).getTime() : undefined,
    to: to.value ? new Date(to.value).getTime() : undefined,
    limit: PAGE,
  });
  /** @param {number} index */
  const loadPage = async (index) => {
    if (index < 0) return;
    if (index > 0 && !cursors[index]) cursors[index] = nextCursor;
    tlStatus.textContent = 'Loading…';
    try {
      const data = await api.timeline(id, { ...params(), cursor: cursors[index] ?? undefined });
      const events = listOf(data, 'events');
      pageIndex = index;
      nextCursor = data?.nextCursor ?? data?.cursor ?? null;
      if (nextCursor) cursors[index + 1] = nextCursor;
      mount(
        tlBody,
        events.map((e) => eventRow(e, { 'data-kind': kindOf(e) })),
      );
      if (events.length === 0)
        mount(tlBody, h('tr', null, h('td', { colspan: '3', class: 'muted' }, 'No events in this range.')));
      tlStatus.textContent = `Page ${index + 1} · ${events.length} events`;
      newer.disabled = index === 0;
      older.disabled = !nextCursor;
    } catch (err) {
      mount(tlBody, h('tr', null, h('td', { colspan: '3' }, renderError(err))));
      tlStatus.textContent = '';
    }
  };
  const timeline = h(
    'section',
    { class: 'card', 'aria-labelledby': 'tl-h' },
    h('h2', { id: 'tl-h' }, 'Timeline'),
    h(
      'form',
      {
        class: 'filters',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          cursors = [null];
          void loadPage(0);
        },
      },
      h('label', null, 'Kinds ', kindSelect),
      h('label', null, 'From ', from),
      h('label', null, 'To ', to),
      h('button', { type: 'submit' }, 'Show'),
    ),
    h(
      'div',
      { class: 'table-wrap' },
      table('Device timeline, newest first', ['Time', 'Kind', 'What'], [], { id: 'timeline' }),
    ),
    h('div', { class: 'pager' }, newer, tlStatus, older),
  );
  timeline.querySelector('#timeline tbody')?.replaceWith(tlBody);

  // ---- inventory, USB history and policy load in parallel and fill their own sections
  const inventory = h(
    'section',
    { class: 'card', 'aria-labelledby': 'inv-h' },
    h('h2', { id: 'inv-h' }, 'Inventory'),
    loading(),
  );
  const usbHistory = h(
    'section',
    { class: 'card', 'aria-labelledby': 'usb-h' },
    h('h2', { id: 'usb-h' }, 'USB history'),
    loading(),
  );
  const policy = h('section', { class: 'policy-slot' }, loading('Loading policy'));
  const layers = h('section', { class: 'layers-slot' }, loading('Loading policy layers'));
  const commands = deviceCommands(id, ctx.user.role === 'admin' || ctx.user.role === 'it');
  commands.update(d);
  // Identity: enrolment, replacement, clone suspicion; revoke / retire (admin, IT).
  const identity = identitySection(d.raw, {
    canAct: ctx.user.role === 'admin' || ctx.user.role === 'it',
    onChanged: () => undefined,
  });

  // Tenancy: the device's school (trust-wide staff, several schools); filled once the names are in.
  const schoolSlot = h('div', { class: 'school-slot' });
  void deviceSchoolSection(d.raw, ctx.user).then((el) => el && mount(schoolSlot, el));
  mount(
    main,
    h('p', null, h('a', { href: '#/devices' }, '← Devices')),
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, ext(d.hostname || d.id, 60)),
      d.byod ? badge('BYOD', 'info') : null,
    ),
    h('div', { class: 'grid2' }, statusBox, inventory),
    commands.el,
    identity.el,
    schoolSlot,
    timeline,
    usbHistory,
    layers,
    policy,
  );
  void loadPage(0);
  void fillInventory(inventory, id, d);
  void fillUsbHistory(usbHistory, id);
  void fillPolicy(policy, id, ctx.user.role === 'admin' || ctx.user.role === 'it');
  void fillDeviceLayers(layers, id, ctx.user.role === 'admin', d.raw);

  const off = onLive('*', async ({ data }) => {
    if ((data?.deviceId ?? data?.device?.id ?? data?.id) !== id) return;
    try {
      d = deviceView(await api.device(id));
      drawStatus();
      commands.update(d);
      identity.update(d.raw);
    } catch {
      // keep the last view; the next message tries again
    }
  });
  return off;
}

/** @param {string} label @param {unknown} value */
function fact(label, value) {
  return [h('dt', null, label), h('dd', null, value)];
}

/** @param {HTMLElement} box @param {string} id @param {import('../model.js').DeviceView} d */
async function fillInventory(box, id, d) {
  let inv = d.raw?.inventory ?? d.raw?.live?.inventory ?? d.raw?.status?.inventory;
  try {
    if (!inv) {
      const data = await api.timeline(id, { kinds: 'inventory', limit: 1 });
      const e = listOf(data, 'events').find((x) => kindOf(x) === 'inventory');
      inv = e ? payloadOf(e) : null;
    }
  } catch (err) {
    mount(box, h('h2', { id: 'inv-h' }, 'Inventory'), renderError(err));
    return;
  }
  if (!inv) {
    mount(
      box,
      h('h2', { id: 'inv-h' }, 'Inventory'),
      h('p', { class: 'muted' }, 'No inventory reported yet.'),
    );
    return;
  }
  mount(
    box,
    h('h2', { id: 'inv-h' }, 'Inventory'),
    h(
      'dl',
      { class: 'facts' },
      fact('Hostname', ext(inv.hostname, 60)),
      fact('Make / model', ext(`${inv.manufacturer ?? ''} ${inv.model ?? ''}`, 80)),
      fact('Serial', ext(inv.serial, 60)),
      fact(
        'OS',
        ext(
          `${inv.osDistro ?? inv.osPlatform ?? ''} ${inv.osRelease ?? ''} (kernel ${inv.kernel ?? '?'})`,
          100,
        ),
      ),
      fact('CPU', ext(`${inv.cpuBrand ?? ''} · ${inv.cpuCores ?? '?'} cores`, 80)),
      fact('Memory', fmtBytes(inv.memoryTotalBytes)),
      fact(
        'Disks',
        (inv.disks ?? []).map((/** @type {any} */ k) =>
          h(
            'div',
            null,
            ext(`${k.name} ${k.type ?? ''} ${k.interfaceType ?? ''}`, 60),
            ` ${fmtBytes(k.sizeBytes)}`,
          ),
        ),
      ),
      fact(
        'Network',
        (inv.interfaces ?? []).map((/** @type {any} */ n) =>
          h('div', null, ext(`${n.name} ${n.ipv4 ?? ''} ${n.mac ?? ''}`, 80)),
        ),
      ),
      fact('Battery', inv.hasBattery ? 'yes' : 'no'),
    ),
  );
}

/** @param {HTMLElement} box @param {string} id */
async function fillUsbHistory(box, id) {
  try {
    const events = listOf(
      await api.timeline(id, { kinds: USB_KINDS.join(','), limit: 100 }),
      'events',
    ).filter((e) => USB_KINDS.includes(kindOf(e)));
    mount(
      box,
      h('h2', { id: 'usb-h' }, 'USB history'),
      events.length === 0
        ? h('p', { class: 'muted' }, 'No USB storage seen on this device.')
        : h(
            'div',
            { class: 'table-wrap' },
            table(
              'USB history, newest first',
              ['Time', 'Event', 'Details'],
              events.map((e) => eventRow(e)),
            ),
          ),
    );
  } catch (err) {
    mount(box, h('h2', { id: 'usb-h' }, 'USB history'), renderError(err));
  }
}

/** @param {HTMLElement} slot @param {string} id @param {boolean} canEdit */
async function fillPolicy(slot, id, canEdit) {
  try {
    const data = await api.devicePolicy(id);
    const policy = data?.policy ?? data?.effective ?? data;
    const hasOverride = Boolean(data?.override ?? data?.overridden);
    mount(
      slot,
      policyForm(
        policy,
        async (patch, reason) => {
          await api.putDevicePolicy(id, patch, reason);
        },
        {
          title: hasOverride ? 'Policy for this device (override)' : 'Policy for this device',
          readOnly: !canEdit,
        },
      ),
    );
  } catch (err) {
    mount(slot, h('section', { class: 'card' }, h('h2', null, 'Policy'), renderError(err)));
  }
}
