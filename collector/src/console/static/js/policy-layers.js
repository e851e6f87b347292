// Policy layers in the console (tenancy: trust default -> school -> group -> device): the editor
// of a school's or group's layer with its own change log, the device groups list, and, on a
// device's page, which layer set each value ("where does this 15-minute idle lock come from?").
import { api } from './api.js';
import { ext, extLong, field, fmtTime, h, mount } from './h.js';
import { listOf } from './model.js';
import { policyForm } from './policy-form.js';
import { schoolName } from './schools.js';
import { loading, renderError, statusLine, table } from './ui.js';

/** @type {Record<string, string>} */
const LAYER_WORDS = { default: 'Trust default', school: 'School', group: 'Group', device: 'This device' };

/** A value as text (lists and objects as JSON), for the "set by" table. @param {unknown} v */
function valueText(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The editor of one school's or group's layer: the policy its devices get (before their own
 * override), saved as only the fields the layer sets; "Remove layer"; the layer's change log.
 * @param {'schools' | 'groups'} kind @param {string} id @param {boolean} canEdit
 */
export function layerEditor(kind, id, canEdit) {
  const word = kind === 'schools' ? 'school' : 'group';
  const box = h(
    'section',
    { class: 'layer-editor', 'data-layer': `${word}:${id}` },
    loading('Loading layer'),
  );
  const log = h('div');
  const say = statusLine();
  const reason = /** @type {HTMLInputElement} */ (h('input', { maxlength: '500', placeholder: 'why' }));

  const loadLog = async () => {
    try {
      const changes = listOf(await api.policyLayerChanges(kind, id), 'changes');
      mount(
        log,
        h('h3', null, `Change log of this ${word} layer`),
        changes.length === 0
          ? h('p', { class: 'muted' }, 'No changes yet.')
          : table(
              `Changes to the ${word} layer, newest first`,
              ['When', 'Who', 'Version', 'Reason'],
              changes.map((c) =>
                h(
                  'tr',
                  null,
                  h('td', { class: 'nowrap' }, fmtTime(c.at)),
                  h('td', null, ext(c.actor, 40)),
                  h('td', null, `v${c.version}`),
                  h('td', null, c.reason === null ? '—' : extLong(c.reason, 200)),
                ),
              ),
            ),
      );
    } catch (err) {
      mount(log, renderError(err));
    }
  };

  const load = async () => {
    try {
      const data = await api.policyLayer(kind, id);
      const has = data?.layer !== null && data?.layer !== undefined;
      const title = `${word === 'school' ? 'School' : 'Group'} ${id}: ${has ? 'its layer' : 'no layer yet (inherits everything)'}`;
      mount(
        box,
        policyForm(
          data?.effective,
          async (patch, why) => {
            await api.putPolicyLayer(kind, id, patch, why);
            void load();
          },
          { title, readOnly: !canEdit, layer: { above: data?.above, patch: data?.layer?.patch ?? {} } },
        ),
        has
          ? h(
              'p',
              { class: 'muted' },
              'This layer sets: ',
              h('code', { 'data-layer-patch': '' }, ext(JSON.stringify(data.layer.patch), 300)),
            )
          : null,
        has && canEdit
          ? h(
              'form',
              {
                class: 'filters',
                onsubmit: async (/** @type {Event} */ e) => {
                  e.preventDefault();
                  if (!reason.value.trim()) {
                    say.say('Say why you remove the layer.', 'error');
                    return;
                  }
                  try {
                    await api.putPolicyLayer(kind, id, null, reason.value.trim());
                    reason.value = '';
                    say.say('Layer removed: its devices now inherit from above.', 'ok');
                    void load();
                  } catch (err) {
                    say.say(/** @type {Error} */ (err).message, 'error');
                  }
                },
              },
              field('Reason', reason),
              h('button', { type: 'submit', class: 'secondary' }, `Remove the ${word} layer`),
            )
          : null,
        say.el,
        log,
      );
      await loadLog();
    } catch (err) {
      mount(box, renderError(err));
    }
  };
  void load();
  return box;
}

/**
 * Schools' and groups' layers on the policy page: pick a school or a group, edit its layer;
 * create, rename and delete groups (admins).
 * @param {boolean} isAdmin
 * @param {import('./schools.js').Schools} schools the caller's schools (a school-scoped account: its own)
 */
export function layersSection(isAdmin, schools) {
  const editor = h('div');
  const groupsBox = h('div', null, loading('Loading groups'));
  const say = statusLine();
  const open = (/** @type {'schools' | 'groups'} */ kind, /** @type {string} */ id) =>
    mount(editor, layerEditor(kind, id, isAdmin));
  const school = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': 'School' }));
  const newSchool = /** @type {HTMLSelectElement} */ (
    h('select', { 'aria-label': 'School of the new group' })
  );
  const newName = /** @type {HTMLInputElement} */ (
    h('input', { maxlength: '80', placeholder: 'e.g. Year 7' })
  );

  const loadGroups = async () => {
    try {
      const groups = listOf(await api.groups(), 'groups');
      // The schools the caller can see (the registry; a school-scoped account: its own), and
      // every school a group names, in case the registry could not be read.
      const ids = [...new Set([...schools.list.map((s) => s.id), ...groups.map((g) => String(g.schoolId))])];
      for (const sel of [school, newSchool])
        mount(
          sel,
          ids.map((id) => h('option', { value: id }, schoolName(schools, id))),
        );
      mount(
        groupsBox,
        groups.length === 0
          ? h('p', { class: 'muted' }, 'No device groups yet.')
          : table(
              'Device groups',
              ['Group', 'School', 'Name', ''],
              groups.map((g) => groupRow(g)),
            ),
      );
    } catch (err) {
      mount(groupsBox, renderError(err));
    }
  };

  /** @param {any} g */
  const groupRow = (g) => {
    const name = /** @type {HTMLInputElement} */ (
      h('input', { value: g.name, maxlength: '80', 'aria-label': 'Name' })
    );
    const reason = /** @type {HTMLInputElement} */ (
      h('input', { maxlength: '500', placeholder: 'reason to delete', 'aria-label': 'Reason to delete' })
    );
    return h(
      'tr',
      { 'data-group': g.id },
      h('td', null, h('code', null, ext(g.id, 40))),
      h('td', null, ext(schoolName(schools, String(g.schoolId)), 80)),
      h('td', null, isAdmin ? name : ext(g.name, 80)),
      h(
        'td',
        { class: 'nowrap' },
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => open('groups', g.id) },
          'Policy layer',
        ),
        isAdmin
          ? [
              h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  onclick: async () => {
                    try {
                      await api.renameGroup(g.id, name.value.trim());
                      say.say('Renamed.', 'ok');
                    } catch (err) {
                      say.say(/** @type {Error} */ (err).message, 'error');
                    }
                  },
                },
                'Rename',
              ),
              reason,
              h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  onclick: async () => {
                    try {
                      await api.deleteGroup(g.id, reason.value.trim());
                      say.say('Group deleted.', 'ok');
                      void loadGroups();
                    } catch (err) {
                      say.say(/** @type {Error} */ (err).message, 'error');
                    }
                  },
                },
                'Delete',
              ),
            ]
          : null,
      ),
    );
  };

  void loadGroups();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'layers-h' },
    h('h2', { id: 'layers-h' }, 'School and group policy'),
    h(
      'p',
      { class: 'muted' },
      'A device gets the trust default, then its school’s layer, then its group’s, then its own override: each layer sets only what it changes.',
    ),
    h(
      'div',
      { class: 'filters' },
      field('School', school),
      h('button', { type: 'button', onclick: () => open('schools', school.value) }, 'School layer'),
    ),
    h('h3', null, 'Device groups'),
    groupsBox,
    isAdmin
      ? h(
          'form',
          {
            class: 'filters',
            onsubmit: async (/** @type {Event} */ e) => {
              e.preventDefault();
              try {
                await api.createGroup({ schoolId: newSchool.value, name: newName.value.trim() });
                newName.value = '';
                say.say('Group created.', 'ok');
                void loadGroups();
              } catch (err) {
                say.say(/** @type {Error} */ (err).message, 'error');
              }
            },
          },
          field('School', newSchool),
          field('New group', newName),
          h('button', { type: 'submit' }, 'Create group'),
        )
      : null,
    say.el,
    editor,
  );
}

/**
 * On a device's page: its chain of layers, which layer set each value, and (admins) its group.
 * @param {HTMLElement} slot @param {string} id @param {boolean} isAdmin
 * @param {any} d the device record (schoolId, groupId)
 */
export async function fillDeviceLayers(slot, id, isAdmin, d) {
  try {
    const [data, groupsData] = await Promise.all([
      api.devicePolicyLayers(id),
      isAdmin ? api.groups() : Promise.resolve({ groups: [] }),
    ]);
    const schoolId = String(d?.schoolId ?? 'default');
    const groups = listOf(groupsData, 'groups').filter((g) => g.schoolId === schoolId);
    const say = statusLine();
    const pick = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { 'aria-label': 'Group' },
        h('option', { value: '' }, '(no group)'),
        groups.map((g) => h('option', { value: g.id, selected: g.id === d?.groupId }, g.name)),
      )
    );
    const reason = /** @type {HTMLInputElement} */ (h('input', { maxlength: '500', placeholder: 'why' }));
    const layers = listOf(data, 'layers');
    const fields = listOf(data, 'fields');
    mount(
      slot,
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'layers-h' },
        h('h2', { id: 'layers-h' }, 'Where this device’s policy comes from'),
        h(
          'p',
          { class: 'muted', 'data-chain': '' },
          layers.map((l, i) => [
            i > 0 ? ' → ' : '',
            `${LAYER_WORDS[l.kind] ?? l.kind}`,
            l.kind === 'default' ? '' : ` ${l.id}`,
          ]),
        ),
        table(
          'Each policy value and the layer that set it',
          ['Setting', 'Value', 'Set by'],
          fields.map((f) =>
            h(
              'tr',
              { 'data-field': f.field },
              h('td', null, h('code', null, f.field)),
              h('td', null, ext(valueText(f.value), 120)),
              h(
                'td',
                { 'data-set-by': f.layer },
                `${LAYER_WORDS[f.layer] ?? f.layer}${f.layer === 'default' ? '' : ` ${f.id}`}`,
              ),
            ),
          ),
        ),
        isAdmin
          ? h(
              'form',
              {
                class: 'filters',
                onsubmit: async (/** @type {Event} */ e) => {
                  e.preventDefault();
                  try {
                    await api.moveDeviceToGroup(
                      id,
                      pick.value === '' ? null : pick.value,
                      reason.value.trim(),
                    );
                    say.say('Moved: the device receives its new policy now.', 'ok');
                    void fillDeviceLayers(slot, id, isAdmin, { ...d, groupId: pick.value || undefined });
                  } catch (err) {
                    say.say(/** @type {Error} */ (err).message, 'error');
                  }
                },
              },
              field('Group', pick),
              field('Reason', reason),
              h('button', { type: 'submit' }, 'Move'),
            )
          : null,
        say.el,
      ),
    );
  } catch (err) {
    mount(slot, h('section', { class: 'card' }, h('h2', null, 'Policy layers'), renderError(err)));
  }
}
