// Tenancy (issue 20): a deployment is one trust; a trust has schools; a school has groups of
// devices. This file is the shared vocabulary the tenancy features build on; it has no state.
// A deployment with no tenancy configured has exactly one school, DEFAULT_SCHOOL_ID, and
// every device, enrol secret, alert and staff account belongs to it (nothing to configure).
import type { Principal } from '../http/router.ts';

/** The one school of a deployment that configured none; devices enrolled before tenancy belong to it. */
export const DEFAULT_SCHOOL_ID = 'default';

/** School and group ids: lower-case letters, digits and dashes, 1 to 40 characters. */
export const TENANT_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,39}$';

export interface School {
  id: string;
  name: string;
  createdAt: number;
}

export interface DeviceGroup {
  id: string;
  schoolId: string;
  name: string;
  createdAt: number;
}

/**
 * Which schools a caller may see: 'all' (trust-wide staff, the admin token) or the listed
 * schools. A staff account with no school list is trust-wide (so one-school deployments and
 * every account made before tenancy keep seeing everything).
 */
export type SchoolScope = 'all' | readonly string[];

export function schoolOfDevice(device: { schoolId?: string }): string {
  return device.schoolId ?? DEFAULT_SCHOOL_ID;
}

export function scopeOf(principal: Principal | undefined): SchoolScope {
  if (principal === undefined || principal.kind === 'token') return 'all';
  return principal.schools ?? 'all';
}

export function scopeAllows(scope: SchoolScope, schoolId: string): boolean {
  return scope === 'all' || scope.includes(schoolId);
}
