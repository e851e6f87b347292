// The policy as one TypeBox declaration (issue 13): its defaults, its limits of sense and its
// checks come from the same schema, which is plain JSON Schema (for the API reference).
import { describe, expect, it } from 'vitest';
import { defaultPolicy, EDIT_LIMITS, policySchema, RECEIVED_LIMITS, validatePolicy } from '../src/index.ts';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    return (err as { details: { issues: string[] } }).details.issues;
  }
  throw new Error('expected the policy to be refused');
}

describe('policy schema', () => {
  it('the defaults are the schema defaults, a new copy each time', () => {
    const a = defaultPolicy();
    expect(
      (policySchema().properties.idleLock.properties.idleLockSeconds as { default: number }).default,
    ).toBe(a.idleLock.idleLockSeconds);
    a.usb.allow.push({ vendorId: '0781', productId: '5581', serial: '', approvedBy: 'x', reason: 'y' });
    a.byodScope.hours.periods.push({ days: ['mon'], start: '08:00', end: '09:00' });
    expect(defaultPolicy().usb.allow).toEqual([]);
    expect(defaultPolicy().byodScope.hours.periods).toEqual([]);
  });

  it('the limits of sense are part of the schema: EDIT_LIMITS and RECEIVED_LIMITS give different minimums', () => {
    const min = (l: typeof EDIT_LIMITS) =>
      (policySchema(l).properties.idleLock.properties.idleLockSeconds as { minimum: number }).minimum;
    expect(min(EDIT_LIMITS)).toBe(60);
    expect(min(RECEIVED_LIMITS)).toBe(1);
    expect(min({ minIdleLockSeconds: 5 })).toBe(5);
    expect(policySchema(EDIT_LIMITS)).toBe(policySchema({ minIdleLockSeconds: 60 }));
    // Plain JSON Schema: serialisable as the API reference shows it.
    expect(JSON.parse(JSON.stringify(policySchema())).properties.usb.properties.mode.anyOf).toHaveLength(4);
  });

  it('a missing field is named with what to send; a wrong type is named with what it got', () => {
    const { enabled: _gone, ...idleLock } = defaultPolicy().idleLock;
    expect(issuesOf(() => validatePolicy({ ...defaultPolicy(), idleLock }))).toEqual([
      'idleLock.enabled must be true or false (got undefined)',
    ]);
    expect(issuesOf(() => validatePolicy({ ...defaultPolicy(), heartbeatSeconds: '60' }))).toEqual([
      'heartbeatSeconds must be a whole number from 5 to 86400 (got "60")',
    ]);
    expect(issuesOf(() => validatePolicy([]))).toEqual(['policy must be an object']);
    expect(
      issuesOf(() =>
        validatePolicy({
          ...defaultPolicy(),
          usb: { ...defaultPolicy().usb, allow: [{ vendorId: 'zz', productId: '12345' }] },
        }),
      ),
    ).toEqual([
      'usb.allow[0].vendorId must be 4 hex digits',
      'usb.allow[0].productId must be text of at most 4 characters',
      'usb.allow[0].productId must be 4 hex digits',
      'usb.allow[0].serial must be text of at most 128 characters',
      'usb.allow[0].approvedBy must be text of at most 200 characters',
      'usb.allow[0].reason must be text of at most 500 characters',
    ]);
  });

  it('keeps only the declared fields and stores ids lower case; absent rule lists are empty', () => {
    const p = validatePolicy({
      ...defaultPolicy(),
      extra: 'from a newer collector',
      usb: {
        ...defaultPolicy().usb,
        allow: [{ vendorId: 'ABCD', productId: '00Ff', serial: '', approvedBy: 'it', reason: 'issued' }],
      },
      byodScope: {
        mode: 'on-premises',
        networks: [{ name: 'Main', ssids: ['School'] }],
        hours: { timezone: 'Europe/London', periods: [] },
      },
    });
    expect('extra' in p).toBe(false);
    expect(p.usb.allow[0]).toMatchObject({ vendorId: 'abcd', productId: '00ff' });
    expect(p.byodScope.networks[0]).toEqual({
      name: 'Main',
      gatewayIps: [],
      gatewayMacs: [],
      dnsSuffixes: [],
      ssids: ['School'],
      collectorLan: '',
    });
  });
});
