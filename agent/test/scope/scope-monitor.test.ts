// The ScopeMonitor shell with scripted facts, clock and notice: it reads the network only when the
// mode needs it, tells listeners on a flip only, shows the desktop notice on each flip, and reports
// a notice that cannot be shown as the capability `scope_notice` unavailable.
import { type ByodScope, defaultPolicy, type Policy } from '@custodian/policy';
import { describe, expect, it } from 'vitest';
import type { PolicySource } from '../../src/core/contracts.ts';
import { createLinuxDesktopNotice, escapeMarkup } from '../../src/platform/desktop-notice.linux.ts';
import type { DesktopNotice } from '../../src/platform/desktop-notice.ts';
import type { NetworkFactsSource } from '../../src/platform/network-facts.ts';
import { ScopeMonitor, type ScopeStatus } from '../../src/scope/scope-monitor.ts';

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const hoursOnly: ByodScope = {
  mode: 'school-hours',
  networks: [],
  hours: { timezone: 'Europe/London', periods: [{ days: ['mon'], start: '08:00', end: '16:30' }] },
};
const policyOf = (byodScope: ByodScope): PolicySource => {
  const p: Policy = { ...defaultPolicy(), version: 3, byodScope };
  return { current: () => p, onChange: () => () => {} };
};

describe('ScopeMonitor', () => {
  it('school hours: no network read, a flip at the boundary, a notice each way', async () => {
    let now = new Date('2026-11-23T16:29:00Z'); // Monday 16:29 in London
    let reads = 0;
    const facts: NetworkFactsSource = {
      availability: () => ({ available: true, reason: '' }),
      read: async () => {
        reads++;
        throw new Error('not expected');
      },
    };
    const shown: [boolean, string][] = [];
    const notice: DesktopNotice = {
      availability: async () => ({ available: true, reason: 'scripted' }),
      show: async (on, reason) => void shown.push([on, reason]),
    };
    const m = new ScopeMonitor({
      byod: true,
      policy: policyOf(hoursOnly),
      facts,
      notice,
      log: silent,
      now: () => now,
    });
    const flips: ScopeStatus[] = [];
    m.onChange((s) => flips.push(s));
    await m.start();
    await m.evaluate();
    now = new Date('2026-11-23T16:30:00Z');
    await m.evaluate();
    m.stop();
    expect(reads).toBe(0);
    expect(flips.map((f) => [f.inScope, f.reason])).toEqual([
      [true, 'within school hours'],
      [false, 'outside school hours'],
    ]);
    await new Promise((r) => setImmediate(r));
    expect(shown).toEqual([
      [true, 'within school hours'],
      [false, 'outside school hours'],
    ]);
    expect(m.state()).toEqual({
      applies: true,
      inScope: false,
      reason: 'outside school hours',
      rule: '',
      mode: 'school-hours',
    });
  });

  it('a notice that fails is reported, and a school device gets no scope capabilities', async () => {
    const notice: DesktopNotice = {
      availability: async () => ({ available: true, reason: '' }),
      show: async () => {
        throw new Error('notify-send: exit 1: no notification daemon');
      },
    };
    const facts: NetworkFactsSource = {
      availability: () => ({ available: false, reason: 'not on this OS' }),
      read: async () => {
        throw new Error('x');
      },
    };
    const m = new ScopeMonitor({
      byod: true,
      policy: policyOf(hoursOnly),
      facts,
      notice,
      log: silent,
      now: () => new Date('2026-11-23T10:00:00Z'),
    });
    await m.start();
    await new Promise((r) => setImmediate(r));
    m.stop();
    expect(m.capabilities()).toEqual([
      { name: 'network_facts', available: false, reason: 'not on this OS' },
      {
        name: 'scope_notice',
        available: false,
        reason: 'notice not shown: notify-send: exit 1: no notification daemon',
      },
    ]);
    const school = new ScopeMonitor({ byod: false, policy: policyOf(hoursOnly), facts, notice, log: silent });
    await school.start();
    school.stop();
    expect(school.capabilities()).toEqual([]);
    expect(school.current()).toMatchObject({ applies: false, inScope: true });
  });
});

describe('Linux desktop notice', () => {
  it('runs notify-send as the session user with the session bus, markup escaped; says why when it cannot', async () => {
    const calls: {
      cmd: string;
      args: readonly string[];
      env: NodeJS.ProcessEnv | undefined;
      timeoutMs: number | undefined;
    }[] = [];
    const env = { DISPLAY: ':5', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus' };
    const notice = createLinuxDesktopNotice({
      env: () => env,
      run: async (cmd, args, o = {}) => {
        calls.push({ cmd, args, env: o.env, timeoutMs: o.timeoutMs });
        return { stdout: '', stderr: '', exitCode: 0 };
      },
    });
    expect(await notice.availability()).toEqual({
      available: true,
      reason: 'notify-send on the session bus',
    });
    await notice.show(true, 'on the school network "A&B <Annex>"');
    const send = calls.at(-1)!;
    expect(send.cmd).toBe('notify-send');
    expect(send.args).toEqual([
      '--app-name=Custodian',
      '--urgency=normal',
      'School monitoring is ON',
      'Custodian now records activity on this laptop for the school (on the school network "A&amp;B &lt;Annex&gt;").',
    ]);
    expect(send.env?.['DBUS_SESSION_BUS_ADDRESS']).toBe('unix:path=/run/user/1000/bus');
    expect(send.timeoutMs).toBeLessThanOrEqual(5_000);
    expect(escapeMarkup('<b>&')).toBe('&lt;b&gt;&amp;');

    const missing = createLinuxDesktopNotice({
      env: () => env,
      run: async () => {
        throw new Error('sh: exit 1');
      },
    });
    expect(await missing.availability()).toEqual({
      available: false,
      reason: 'notify-send is not installed (Debian: libnotify-bin)',
    });
    const nobody = createLinuxDesktopNotice({ env: () => ({}) });
    expect(await nobody.availability()).toEqual({
      available: false,
      reason: 'no graphical session (nobody to notify)',
    });
  });
});
