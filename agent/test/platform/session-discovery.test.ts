// The Linux discovery's decisions with a scripted command runner (loginctl answers captured in
// agent/testdata/session/) and a /proc stand-in: real files owned by the users they describe.
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunOptions } from '../../src/platform/exec.ts';
import type { ExecRunner } from '../../src/platform/idle.ts';
import { createLinuxSessionDiscovery } from '../../src/platform/session.linux.ts';

const data = (f: string) => readFileSync(new URL(`../../testdata/session/${f}`, import.meta.url), 'utf8');
let proc: string;

function fakeProcess(pid: number, uid: number, env: string[]): void {
  const dir = join(proc, String(pid));
  mkdirSync(dir);
  writeFileSync(join(dir, 'environ'), `${env.join('\0')}\0`);
  chownSync(dir, uid, uid);
}

beforeEach(() => {
  proc = mkdtempSync(join(tmpdir(), 'custodian-proc-'));
  fakeProcess(100, 1000, ['DISPLAY=:0', 'XAUTHORITY=/home/alice/.Xauthority', 'HOME=/home/alice']);
  fakeProcess(101, 1001, ['DISPLAY=:1', 'XAUTHORITY=/home/bob/.Xauthority']);
  fakeProcess(102, 1001, ['DISPLAY=:1', 'XAUTHORITY=/home/bob/.Xauthority']);
  fakeProcess(103, 0, ['DISPLAY=:7']);
});
afterEach(() => rmSync(proc, { recursive: true, force: true }));

function runner(opts: { logind: boolean; answering: string[] }) {
  const calls: string[] = [];
  const run: ExecRunner = async (cmd: string, args: readonly string[], o: RunOptions = {}) => {
    calls.push([cmd, ...args].join(' '));
    const ok = (stdout: string) => ({ stdout, stderr: '', exitCode: 0 });
    if (cmd === 'loginctl') {
      if (!opts.logind) throw new CustodianError(ErrorCode.COMMAND_FAILED, 'loginctl: exit 1: no logind');
      if (args[0] === 'list-sessions') return ok(data('list-sessions.txt'));
      const file = {
        '2': 'show-session-x11-active.txt',
        c1: 'show-session-greeter.txt',
        '5': 'show-session-ssh.txt',
      }[args[1] as '2' | 'c1' | '5'];
      return ok(data(file));
    }
    if (cmd === 'xprop') {
      if (opts.answering.includes(o.env?.['DISPLAY'] ?? ''))
        return ok('_NET_SUPPORTED(ATOM) = _NET_WM_NAME\n');
      throw new CustodianError(ErrorCode.COMMAND_FAILED, 'xprop: unable to open display');
    }
    throw new Error(`unexpected command ${cmd}`);
  };
  return { run, calls };
}

describe('Linux session discovery (scripted loginctl/xprop, /proc stand-in)', () => {
  it('logind names the active session; the cookie comes from that user’s processes', async () => {
    const r = runner({ logind: true, answering: [':0', ':1'] });
    const d = createLinuxSessionDiscovery({ run: r.run, procDir: proc, selfPid: -1 });
    const s = await d.discover();
    expect(s).toMatchObject({
      source: 'logind',
      uid: 1000,
      user: 'alice',
      vars: {
        DISPLAY: ':0',
        XAUTHORITY: '/home/alice/.Xauthority',
        XDG_SESSION_ID: '2',
        XDG_SESSION_TYPE: 'x11',
      },
    });
    expect(r.calls.slice(0, 2)).toEqual([
      'loginctl list-sessions --no-legend',
      'loginctl show-session 2 -p Active -p Type -p Display -p Name -p User -p Remote',
    ]);
  });

  it('with logind, another user’s answering display never wins when the active one does not answer', async () => {
    const r = runner({ logind: true, answering: [':1'] });
    const d = createLinuxSessionDiscovery({ run: r.run, procDir: proc, selfPid: -1 });
    expect(await d.discover()).toBeUndefined();
    expect(r.calls.filter((c) => c.startsWith('xprop'))).toHaveLength(2); // logind's, then alice's own
  });

  it('without logind, the most common answering non-root environment wins', async () => {
    const r = runner({ logind: false, answering: [':0', ':1'] });
    const d = createLinuxSessionDiscovery({ run: r.run, procDir: proc, selfPid: -1 });
    expect(await d.discover()).toMatchObject({
      source: 'proc',
      uid: 1001,
      vars: { DISPLAY: ':1', XAUTHORITY: '/home/bob/.Xauthority' },
    });
    const r2 = runner({ logind: false, answering: [':0'] });
    const d2 = createLinuxSessionDiscovery({ run: r2.run, procDir: proc, selfPid: -1 });
    expect(await d2.discover()).toMatchObject({ source: 'proc', uid: 1000, vars: { DISPLAY: ':0' } });
  });

  it('the fingerprint changes with the environments and spawns nothing', async () => {
    const r = runner({ logind: false, answering: [] });
    const d = createLinuxSessionDiscovery({ run: r.run, procDir: proc, selfPid: -1 });
    const a = await d.fingerprint();
    expect(await d.fingerprint()).toBe(a);
    rmSync(join(proc, '100'), { recursive: true });
    expect(await d.fingerprint()).not.toBe(a);
    expect(r.calls).toEqual([]);
  });
});
