// Schools of a trust (tenancy) for the pages that list devices and alerts: the names to show
// beside each row, and a school filter. Shown to an account that sees more than one school (trust-wide
// staff of a trust of several schools, or an account limited to several); an account of one school
// sees no school anywhere.
import { api } from './api.js';
import { h } from './h.js';

/** The id of the school of a record without one (made before tenancy, or a one-school deployment). */
export const DEFAULT_SCHOOL_ID = 'default';

/**
 * @typedef {{ id: string, name: string }} School
 * @typedef {{ list: School[], names: Map<string, string>, show: boolean, trustWide: boolean }} Schools
 * `list`: the schools the caller sees (the collector answers only those); `trustWide`: the caller may
 * act on the whole trust (move devices between schools, make trust-wide accounts).
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
  return { list, names: new Map(list.map((s) => [s.id, s.name])), show: list.length > 1, trustWide };
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
