// decideScope, pure: enrolment kind, each mode, each rule criterion, unreadable facts, and
// school hours on the school's wall clock across the BST change.
import { type ByodScope, defaultByodScope } from '@custodian/policy';
import { describe, expect, it } from 'vitest';
import type { NetworkFacts } from '../../src/platform/network-facts.ts';
import { decideScope, localTime, type ScopeInput, withinHours } from '../../src/scope/decide-scope.ts';

const main = {
  name: 'Main site',
  gatewayIps: ['10.20.0.1'],
  gatewayMacs: ['52:54:00:aa:bb:01'],
  dnsSuffixes: [],
  ssids: [],
  collectorLan: '',
};
const annexWifi = {
  name: 'Annex Wi-Fi',
  gatewayIps: [],
  gatewayMacs: [],
  dnsSuffixes: ['duston.internal'],
  ssids: ['Duston-BYOD'],
  collectorLan: '10.20.0.5:8443',
};
const hours = {
  timezone: 'Europe/London',
  periods: [
    {
      days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ByodScope['hours']['periods'][0]['days'],
      start: '08:00',
      end: '16:30',
    },
  ],
};
const scope = (mode: ByodScope['mode']): ByodScope => ({ mode, networks: [main, annexWifi], hours });

const school: NetworkFacts = {
  gateways: [{ ip: '10.20.0.1', mac: '52:54:00:aa:bb:01', iface: 'eth0' }],
  dnsSuffixes: [],
  ssids: [],
  notes: [],
};
const home: NetworkFacts = {
  gateways: [{ ip: '10.20.0.1', mac: 'a4:91:b1:00:00:01', iface: 'wlan0' }], // same address, other router
  dnsSuffixes: ['home'],
  ssids: ['BT-Hub-1234'],
  notes: [],
};
// Monday 23 November 2026, 10:00 GMT (London = UTC in winter).
const mondayMorning = new Date('2026-11-23T10:00:00Z');
const mondayEvening = new Date('2026-11-23T17:00:00Z');

const input = (over: Partial<ScopeInput>): ScopeInput => ({
  byod: true,
  policyKnown: true,
  scope: scope('on-premises'),
  facts: school,
  reachable: new Set(),
  now: mondayMorning,
  ...over,
});

describe('decideScope', () => {
  it('school-owned devices and mode always: monitored, nothing to decide', () => {
    expect(decideScope(input({ byod: false, facts: home, now: mondayEvening }))).toEqual({
      applies: false,
      inScope: true,
      reason: 'school-owned device: monitored at all times',
      rule: '',
      mode: 'on-premises',
    });
    expect(decideScope(input({ scope: defaultByodScope(), facts: undefined }))).toMatchObject({
      applies: false,
      inScope: true,
      reason: 'BYOD policy "always": monitored at all times',
    });
  });

  it("a BYOD device without the school's policy yet waits outside scope, even for mode always", () => {
    expect(decideScope(input({ policyKnown: false, scope: defaultByodScope() }))).toEqual({
      applies: true,
      inScope: false,
      reason: "waiting for the school's policy",
      rule: '',
      mode: 'always',
    });
    expect(decideScope(input({ policyKnown: false, byod: false })).inScope).toBe(true);
  });

  it('on-premises: in on the school network (naming the rule), out at home with the same gateway address', () => {
    expect(decideScope(input({}))).toEqual({
      applies: true,
      inScope: true,
      reason: 'on the school network "Main site"',
      rule: 'Main site',
      mode: 'on-premises',
    });
    expect(decideScope(input({ facts: home }))).toEqual({
      applies: true,
      inScope: false,
      reason: 'not on a school network',
      rule: '',
      mode: 'on-premises',
    });
  });

  it('every criterion of a rule must match: SSID and suffix without the collector answering is not enough', () => {
    const wifi: NetworkFacts = {
      gateways: [],
      dnsSuffixes: ['duston.internal'],
      ssids: ['Duston-BYOD'],
      notes: [],
    };
    expect(decideScope(input({ facts: wifi })).inScope).toBe(false);
    expect(decideScope(input({ facts: wifi, reachable: new Set(['10.20.0.5:8443']) }))).toMatchObject({
      inScope: true,
      rule: 'Annex Wi-Fi',
    });
    expect(
      decideScope(
        input({ facts: { ...wifi, ssids: ['Duston-Guest'] }, reachable: new Set(['10.20.0.5:8443']) }),
      ).inScope,
    ).toBe(false);
  });

  it('a gateway without a neighbour entry does not match a MAC rule', () => {
    const noMac = { ...school, gateways: [{ ip: '10.20.0.1', mac: '', iface: 'eth0' }] };
    expect(decideScope(input({ facts: noMac })).inScope).toBe(false);
  });

  it('IPv6 gateways compare in canonical form', () => {
    const v6 = {
      ...scope('on-premises'),
      networks: [{ ...main, gatewayIps: ['FD31:0:0::1'], gatewayMacs: [], dnsSuffixes: ['duston.internal'] }],
    };
    const facts = {
      ...school,
      gateways: [{ ip: 'fd31::1', mac: '', iface: 'eth0' }],
      dnsSuffixes: ['duston.internal'],
    };
    expect(decideScope(input({ scope: v6, facts })).inScope).toBe(true);
  });

  it('facts not readable: out of scope, saying why', () => {
    expect(
      decideScope(input({ facts: undefined, factsError: 'network facts are not read on Windows yet' })),
    ).toMatchObject({
      inScope: false,
      reason: 'network not readable (network facts are not read on Windows yet): treated as off the premises',
    });
  });

  it('school-hours: on the school wall clock, end exclusive, weekends out', () => {
    const s = scope('school-hours');
    expect(decideScope(input({ scope: s, facts: home })).reason).toBe('within school hours');
    expect(decideScope(input({ scope: s, now: mondayEvening }))).toMatchObject({
      inScope: false,
      reason: 'outside school hours',
    });
    expect(withinHours(s, new Date('2026-11-23T16:29:59Z'))).toBe(true);
    expect(withinHours(s, new Date('2026-11-23T16:30:00Z'))).toBe(false);
    expect(withinHours(s, new Date('2026-11-23T07:59:59Z'))).toBe(false);
    expect(withinHours(s, new Date('2026-11-28T10:00:00Z'))).toBe(false); // Saturday
  });

  it('British Summer Time: 08:00 in London is 07:00 UTC in June', () => {
    const s = scope('school-hours');
    expect(localTime(new Date('2026-06-15T07:00:00Z'), 'Europe/London')).toEqual({
      day: 'mon',
      minutes: 480,
    });
    expect(withinHours(s, new Date('2026-06-15T07:00:00Z'))).toBe(true);
    expect(withinHours(s, new Date('2026-06-15T06:59:00Z'))).toBe(false);
  });

  it('on-premises-and-hours: both, and the reason names what failed', () => {
    const s = scope('on-premises-and-hours');
    expect(decideScope(input({ scope: s }))).toMatchObject({
      inScope: true,
      reason: 'on the school network "Main site", within school hours',
    });
    expect(decideScope(input({ scope: s, now: mondayEvening }))).toMatchObject({
      inScope: false,
      rule: 'Main site',
      reason: 'on the school network "Main site", outside school hours',
    });
    expect(decideScope(input({ scope: s, facts: home }))).toMatchObject({
      inScope: false,
      reason: 'not on a school network, within school hours',
    });
  });
});
