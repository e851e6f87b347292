// The pure rules of tenancy: which routes a school-scoped account reaches, which accounts a
// school admin manages, which school lists it may give, and the per-item filters.
import { describe, expect, it } from 'vitest';
import { type Principal, tenancyAllows } from '../../src/http/router.ts';
import { deviceVisible, inScope, wantedSchools } from '../../src/tenancy/scope.ts';
import { decideAccountSchools, managesAccount, sameSchools } from '../../src/tenancy/staff-scope.ts';

const staff = (schools?: string[]): Principal => ({
  kind: 'staff',
  userId: 'u',
  username: 'u',
  role: 'admin',
  sessionId: 's',
  csrfToken: 'c',
  ...(schools ? { schools } : {}),
});
const token: Principal = { kind: 'token', role: 'admin', username: 'admin-token' };
const exists = async (id: string) => ['default', 'a', 'b'].includes(id);

describe('tenancyAllows', () => {
  it('lets school-scoped accounts reach only routes that declare tenancy', () => {
    const trustRoute = { access: ['admin'] as const };
    expect(tenancyAllows(trustRoute, staff(['a']))).toBe(false);
    expect(tenancyAllows(trustRoute, staff())).toBe(true);
    expect(tenancyAllows(trustRoute, token)).toBe(true);
    expect(tenancyAllows({ access: ['admin'], tenancy: 'school' }, staff(['a']))).toBe(true);
    expect(tenancyAllows({ access: ['admin'], tenancy: 'none' }, staff(['a']))).toBe(true);
    expect(tenancyAllows({ access: 'public' }, staff(['a']))).toBe(true);
  });
});

describe('scope filters', () => {
  it('treats a record without a school as the default school', () => {
    expect(inScope(staff(['default']), undefined)).toBe(true);
    expect(inScope(staff(['a']), undefined)).toBe(false);
    expect(inScope(staff(), 'b')).toBe(true);
  });

  it('narrows ?school= within the scope; naming another school gives nothing', () => {
    expect(['a', 'b'].filter(wantedSchools(staff(['a']), 'b'))).toEqual([]);
    expect(['a', 'b'].filter(wantedSchools(staff(['a']), undefined))).toEqual(['a']);
    expect(['a', 'b'].filter(wantedSchools(staff(), 'b'))).toEqual(['b']);
  });

  it('fails closed for a device the index does not know', () => {
    const index = { schoolOf: (id: string) => (id === 'd1' ? 'a' : undefined) };
    expect(deviceVisible(index, staff(['a']), 'd1')).toBe(true);
    expect(deviceVisible(index, staff(['a']), 'unknown')).toBe(false);
    expect(deviceVisible(index, staff(), 'unknown')).toBe(true);
  });
});

describe('staff scope', () => {
  it('a school admin manages only accounts wholly inside its schools', () => {
    expect(managesAccount(staff(['a']), { schools: ['a'] })).toBe(true);
    expect(managesAccount(staff(['a']), { schools: ['a', 'b'] })).toBe(false);
    expect(managesAccount(staff(['a']), {})).toBe(false);
    expect(managesAccount(staff(), {})).toBe(true);
  });

  it('decides the school list an account gets', async () => {
    // Creating: trust-wide callers make trust-wide accounts, school admins their own schools.
    expect(await decideAccountSchools(staff(), undefined, undefined, exists, true)).toBeUndefined();
    expect(await decideAccountSchools(staff(['a']), undefined, undefined, exists, true)).toEqual(['a']);
    // Patching without `schools` keeps them.
    expect(await decideAccountSchools(staff(['a']), undefined, ['a'], exists, false)).toEqual(['a']);
    expect(await decideAccountSchools(staff(), ['b', 'a', 'b'], undefined, exists, false)).toEqual([
      'a',
      'b',
    ]);
    expect(await decideAccountSchools(staff(), null, ['a'], exists, false)).toBeUndefined();
    await expect(decideAccountSchools(staff(['a']), null, ['a'], exists, false)).rejects.toMatchObject({
      status: 403,
    });
    await expect(decideAccountSchools(staff(['a']), ['b'], ['a'], exists, false)).rejects.toMatchObject({
      status: 403,
    });
    await expect(decideAccountSchools(staff(), ['nowhere'], undefined, exists, true)).rejects.toMatchObject({
      status: 400,
    });
    await expect(decideAccountSchools(staff(), [], undefined, exists, true)).rejects.toMatchObject({
      status: 400,
    });
  });

  it('compares school lists (trust-wide is undefined)', () => {
    expect(sameSchools(undefined, undefined)).toBe(true);
    expect(sameSchools(['a'], undefined)).toBe(false);
    expect(sameSchools(['a', 'b'], ['a', 'b'])).toBe(true);
  });
});
