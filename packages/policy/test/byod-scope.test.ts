// The byodScope section: defaults, validation sentences, backwards compatibility with policies
// stored (or sent by a collector) before the section existed, and the wire round trip.
import { ErrorCode, isCustodianError, v1 } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import {
  type ByodScope,
  defaultPolicy,
  mergePolicy,
  parseHostPort,
  policyFromWire,
  policyToWire,
  validatePolicy,
} from '../src/index.ts';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (isCustodianError(err) && err.code === ErrorCode.INVALID_POLICY)
      return (err.details as { issues: string[] }).issues;
    throw err;
  }
  throw new Error('expected CUST_ERR_INVALID_POLICY');
}

const school: ByodScope = {
  mode: 'on-premises-and-hours',
  networks: [
    {
      name: 'Main site',
      gatewayIps: ['10.20.0.1'],
      gatewayMacs: ['52-54-00-AA-BB-CC'],
      dnsSuffixes: ['.duston.internal.'],
      ssids: ['Duston-BYOD'],
      collectorLan: '10.20.0.5:8443',
    },
  ],
  hours: { timezone: 'Europe/London', periods: [{ days: ['mon', 'tue'], start: '08:00', end: '16:30' }] },
};

describe('policy byodScope', () => {
  it('defaults to always (an upgrade monitors as before) with no rules', () => {
    expect(defaultPolicy().byodScope).toEqual({
      mode: 'always',
      networks: [],
      hours: { timezone: 'Europe/London', periods: [] },
    });
  });

  it('a policy stored before the section existed reads as mode always', () => {
    const { byodScope: _gone, ...old } = defaultPolicy();
    expect(validatePolicy(old).byodScope.mode).toBe('always');
  });

  it('normalises MACs and suffixes, and round-trips through the wire form', () => {
    const p = mergePolicy(defaultPolicy(), { byodScope: school });
    expect(p.byodScope.networks[0]?.gatewayMacs).toEqual(['52:54:00:aa:bb:cc']);
    expect(p.byodScope.networks[0]?.dnsSuffixes).toEqual(['duston.internal']);
    const bytes = v1.Policy.encode(policyToWire(p)).finish();
    expect(policyFromWire(v1.Policy.decode(bytes))).toEqual(p);
  });

  it('a wire policy without byod_scope (an older collector) is mode always', () => {
    const { byodScope: _gone, ...wire } = policyToWire(defaultPolicy());
    expect(policyFromWire(wire).byodScope.mode).toBe('always');
  });

  it('names every bad field of the section', () => {
    const issues = issuesOf(() =>
      mergePolicy(defaultPolicy(), {
        byodScope: {
          mode: 'at-school' as never,
          networks: [
            {
              name: '',
              gatewayIps: ['10.0.0.300'],
              gatewayMacs: ['52:54:00'],
              dnsSuffixes: ['not a domain'],
              ssids: ['x'.repeat(33)],
              collectorLan: 'collector.school:443',
            },
          ],
          hours: {
            timezone: 'Mars/Olympus',
            periods: [{ days: ['mon', 'mon'], start: '16:00', end: '08:00' }],
          },
        },
      }),
    );
    expect(issues).toEqual([
      'byodScope.mode must be one of always, on-premises, school-hours, on-premises-and-hours (got "at-school")',
      'byodScope.networks[0].gatewayIps[0] must be an IPv4 or IPv6 address (got "10.0.0.300")',
      'byodScope.networks[0].gatewayMacs[0] must be a MAC address like "52:54:00:12:34:56"',
      'byodScope.networks[0].dnsSuffixes[0] must be a DNS domain like "school.internal"',
      'byodScope.networks[0].ssids[0] must be text of at most 32 characters',
      'byodScope.networks[0].ssids[0] must be a Wi-Fi name of 1 to 32 bytes',
      'byodScope.networks[0].name must name the network (shown to the user and IT)',
      'byodScope.networks[0].collectorLan must be "IP:port" (an address on the school LAN, not a host name)',
      'byodScope.hours.periods[0].days must not repeat a day',
      'byodScope.hours.periods[0].end must be after byodScope.hours.periods[0].start (a period does not cross midnight)',
      'byodScope.hours.timezone must be an IANA time zone like "Europe/London" (got "Mars/Olympus")',
    ]);
  });

  it('refuses a rule that matches on the gateway address alone (home routers share it)', () => {
    const issues = issuesOf(() =>
      mergePolicy(defaultPolicy(), {
        byodScope: { mode: 'on-premises', networks: [{ ...school.networks[0]!, ...onlyGateway }] },
      }),
    );
    expect(issues).toEqual([
      'byodScope.networks[0] must not match on gatewayIps alone (home routers share the same addresses); add gatewayMacs, dnsSuffixes, ssids or collectorLan',
    ]);
  });

  it('a mode needs what it decides on: networks for on-premises, periods for school hours', () => {
    expect(issuesOf(() => mergePolicy(defaultPolicy(), { byodScope: { mode: 'on-premises' } }))).toEqual([
      'byodScope.networks must list at least one school network when byodScope.mode is on-premises',
    ]);
    expect(
      issuesOf(() => mergePolicy(defaultPolicy(), { byodScope: { mode: 'on-premises-and-hours' } })),
    ).toEqual([
      'byodScope.networks must list at least one school network when byodScope.mode is on-premises-and-hours',
      'byodScope.hours.periods must list the school hours when byodScope.mode is on-premises-and-hours',
    ]);
  });

  it('reads "IP:port" and "[IPv6]:port" only', () => {
    expect(parseHostPort('10.20.0.5:8443')).toEqual({ host: '10.20.0.5', port: 8443 });
    expect(parseHostPort('[fd00::5]:443')).toEqual({ host: 'fd00::5', port: 443 });
    expect(parseHostPort('fd00::5:443')).toBeUndefined();
    expect(parseHostPort('10.20.0.5:0')).toBeUndefined();
    expect(parseHostPort('10.20.0.5:65536')).toBeUndefined();
    expect(parseHostPort('[10.20.0.5]:443')).toBeUndefined();
    expect(parseHostPort('collector:443')).toBeUndefined();
  });
});

const onlyGateway = { gatewayMacs: [], dnsSuffixes: [], ssids: [], collectorLan: '' };
