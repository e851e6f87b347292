// Schools of a trust (tenancy) for the pages that list devices and alerts: the names to show
// beside each row, and a school filter. Only trust-wide staff of a trust with more than one
// school see either; a school-scoped account sees its own school only, with no switcher.
import { api } from './api.js';
import { h } from './h.js';

/** The id of the school of a record without one (made before tenancy, or a one-school deployment). */
export const DEFAULT_SCHOOL_ID = 'default';

/**
 * @typedef {{ id: string, name: string }} School
 * @typedef {{ list: School[], names: Map<string, string>, show: boolean }} Schools
 */

/** @param {{ schools?: string[] | null }} user @returns {Promise<Schools>} */
export async function loadSchools(user) {
  /** @type {School[]} */
  let list = [];
  try {
    list = /** @type {School[]} */ ((await api.schools()).schools ?? []);
  } catch {
    // The pages work without names (a school shows as its id).
  }
  const trustWide = !Array.isArray(user.schools);
  return { list, names: new Map(list.map((s) => [s.id, s.name])), show: trustWide && list.length > 1 };
}

/** A record's school id (absent: the default school). @param {{ schoolId?: unknown } | null | undefined} r */
export function schoolOf(r) {
  return typeof r?.schoolId === 'string' ? r.schoolId : DEFAULT_SCHOOL_ID;
}

/** The school's name, or its id. @param {Schools} schools @param {string} id */
export function schoolName(schools, id) {
  return schools.names.get(id) ?? id;
}

/** A select of every school, "" = all schools. @param {Schools} schools */
export function schoolSelect(schools) {
  return /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'data-school-filter': '' },
      h('option', { value: '' }, 'all schools'),
      schools.list.map((s) => h('option', { value: s.id }, s.name)),
    )
  );
}
