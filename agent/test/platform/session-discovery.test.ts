// The Linux discovery's decisions with a scripted command runner (loginctl answers captured in
// agent/testdata/session/) and a /proc stand-in: real directories owned by the users they
// describe, X server processes (exe link, cmdline) and real sockets standing for /tmp/.X11-unix.
import {
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunOptions } from '../../src/platform/exec.ts';
import type { ExecRunner } from '../../src/platform/idle.ts';
import { createLinuxSessionDiscovery } from '../../src/platform/session.linux.ts';
import { parseXauthority, serializeXauthority } from '../../src/platform/x11-auth.ts';

const data = (f: string) => readFileSync(new URL(`../../testdata/session/${f}`, import.meta.url), 'utf8');
let root: string;
let proc: string;
let sockets: string;
let runtime: string;
let servers: Server[] = [];
const COOKIE = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

function fakeProcess(
  pid: number,
  uid: number,
  env: string[],
  exe = '/usr/bin/sleep',
  argv = ['sleep'],
  ppid = 1,
): void {
  const dir = join(proc, String(pid));
  mkdirSync(dir);
  writeFileSync(join(dir, 'stat'), `${pid} (${argv[0]}) S ${ppid} ${pid} ${pid} 0 -1`);
  writeFileSync(join(dir, 'environ'), `${env.join('\0')}\0`);
  writeFileSync(join(dir, 'cmdline'), `${argv.join('\0')}\0`);
  symlinkSync(exe, join(dir, 'exe'));
  chownSync(dir, uid, uid);
}

async function xSocket(n: number, uid: number): Promise<void> {
  const path = join(sockets, `X${n}`);
  const s = createServer();
  await new Promise<void>((r) => s.listen(path, r));
  chownSync(path, uid, uid);
  servers.push(s);
}

function authFile(n: number): string {
  const f = join(root, `server-${n}.auth`);
  writeFileSync(
    f,
    serializeXauthority([
      {
        family: 256,
        address: Buffer.from('host'),
        number: String(n),
        name: 'MIT-MAGIC-COOKIE-1',
        data: COOKIE,
      },
      {
        family: 256,
        address: Buffer.from('host'),
        number: '42',
        name: 'MIT-MAGIC-COOKIE-1',
        data: Buffer.alloc(16, 1),
      },
    ]),
    { mode: 0o600 },
  );
  return f;
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'custodian-disc-'));
  proc = join(root, 'proc');
  sockets = join(root, 'x11-unix');
  runtime = join(root, 'run');
  mkdirSync(proc);
  mkdirSync(sockets);
  // Root's Xorg on :0 (a display manager's), with its own cookie file.
  fakeProcess(50, 0, [], '/usr/lib/xorg/Xorg', [
    '/usr/lib/xorg/Xorg',
    ':0',
    '-auth',
    authFile(0),
    '-nolisten',
    'tcp',
  ]);
  await xSocket(0, 0);
  fakeProcess(100, 1000, ['DISPLAY=:0', 'XAUTHORITY=/home/alice/.Xauthority', 'HOME=/home/alice']);
  fakeProcess(103, 0, ['DISPLAY=:7']);
});
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  rmSync(root, { recursive: true, force: true });
});

function runner(opts: { logind: boolean; answering: string[] }) {
  const calls: { cmd: string; env?: NodeJS.ProcessEnv; runAs?: RunOptions['runAs'] }[] = [];
  const run: ExecRunner = async (cmd: string, args: readonly string[], o: RunOptions = {}) => {
    calls.push({ cmd: [cmd, ...args].join(' '), env: o.env, runAs: o.runAs });
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

function discovery(run: ExecRunner) {
  return createLinuxSessionDiscovery({
    run,
    procDir: proc,
    xSocketDir: sockets,
    runtimeDir: runtime,
    passwdFile: new URL('../../testdata/session/passwd.txt', import.meta.url).pathname,
    selfPid: -1,
  });
}

describe('Linux session discovery (scripted loginctl/xprop, /proc stand-in)', () => {
  it('logind names the session; the cookie is a copy of the X server’s own, only the user can read it', async () => {
    const r = runner({ logind: true, answering: [':0'] });
    const s = await discovery(r.run).discover();
    const copy = join(runtime, 'x11-1000', 'display-0.xauth');
    expect(s).toEqual({
      source: 'logind',
      uid: 1000,
      gid: 1000,
      user: 'alice',
      home: '/home/alice',
      vars: { DISPLAY: ':0', XAUTHORITY: copy, XDG_SESSION_ID: '2', XDG_SESSION_TYPE: 'x11' },
    });
    // Only the entry for :0, owned by the user, 0400, in a root-owned 0711 directory.
    expect(parseXauthority(readFileSync(copy))).toEqual([
      { family: 256, address: Buffer.from('host'), number: '0', name: 'MIT-MAGIC-COOKIE-1', data: COOKIE },
    ]);
    expect(statSync(copy)).toMatchObject({ uid: 1000, gid: 1000 });
    expect(statSync(copy).mode & 0o777).toBe(0o400);
    expect(statSync(join(runtime, 'x11-1000'))).toMatchObject({ uid: 0 });
    expect(statSync(join(runtime, 'x11-1000')).mode & 0o777).toBe(0o711);
    // The display probe ran as alice, with a clean environment.
    const probe = r.calls.find((c) => c.cmd.startsWith('xprop'));
    expect(probe?.runAs).toEqual({ uid: 1000, gid: 1000, user: 'alice', home: '/home/alice' });
    expect(Object.keys(probe?.env ?? {}).sort()).toEqual([
      'CUSTODIAN_SESSION_HELPER',
      'DISPLAY',
      'LANG',
      'PATH',
      'XAUTHORITY',
      'XDG_SESSION_ID',
      'XDG_SESSION_TYPE',
    ]);
  });

  it('with logind, a display it names that is not served by a trusted X server gives no session', async () => {
    // Alice's own Xvfb on :0 (a pupil-run server), socket hers: logind allows a server of the
    // user only for the display it names, so it counts here; owned by someone else it does not.
    rmSync(join(proc, '50'), { recursive: true });
    fakeProcess(51, 1001, [], '/usr/bin/Xvfb', ['Xvfb', ':0']);
    const r = runner({ logind: true, answering: [':0'] });
    expect(await discovery(r.run).discover()).toBeUndefined();
    expect(r.calls.some((c) => c.cmd.startsWith('xprop'))).toBe(false);
  });

  it('with logind, planted DISPLAY/XAUTHORITY values in /proc are not consulted at all', async () => {
    fakeProcess(200, 1000, ['DISPLAY=127.0.0.1:5', 'XAUTHORITY=/home/bob/.Xauthority']);
    fakeProcess(201, 1000, ['DISPLAY=:3', 'XAUTHORITY=/dev/watchdog']);
    const r = runner({ logind: true, answering: [':0', '127.0.0.1:5', ':3'] });
    const s = await discovery(r.run).discover();
    expect(s?.vars['DISPLAY']).toBe(':0');
    expect(s?.vars['XAUTHORITY']).toBe(join(runtime, 'x11-1000', 'display-0.xauth'));
    expect(r.calls.filter((c) => c.cmd.startsWith('xprop')).map((c) => c.env?.['DISPLAY'])).toEqual([':0']);
  });

  it('without logind: a user at a root-served display; a host part or a pupil-run server never wins', async () => {
    // Many planted processes: loopback TCP, and a pupil-run Xvfb on :5 (socket owned by the pupil).
    for (let i = 0; i < 5; i++) fakeProcess(300 + i, 1000, ['DISPLAY=127.0.0.1:5']);
    for (let i = 0; i < 5; i++) fakeProcess(310 + i, 1000, ['DISPLAY=:5', 'XAUTHORITY=/dev/watchdog']);
    fakeProcess(320, 1000, [], '/usr/bin/Xvfb', ['Xvfb', ':5', '-auth', authFile(5)]);
    await xSocket(5, 1000);
    const r = runner({ logind: false, answering: [':0', ':5', '127.0.0.1:5'] });
    const s = await discovery(r.run).discover();
    expect(s).toMatchObject({ source: 'proc', uid: 1000, vars: { DISPLAY: ':0' } });
    expect(r.calls.filter((c) => c.cmd.startsWith('xprop')).map((c) => c.env?.['DISPLAY'])).toEqual([':0']);
  });

  it('without logind, a display claimed by two users is not chosen (no cookie for a planter)', async () => {
    fakeProcess(400, 1001, ['DISPLAY=:0']);
    const r = runner({ logind: false, answering: [':0'] });
    expect(await discovery(r.run).discover()).toBeUndefined();
  });

  it('an X server whose auth file is not a root-owned regular file is refused', async () => {
    const fake = join(root, 'user.auth');
    writeFileSync(fake, serializeXauthority([]));
    chownSync(fake, 1000, 1000);
    rmSync(join(proc, '50'), { recursive: true });
    fakeProcess(52, 0, [], '/usr/lib/xorg/Xorg', ['/usr/lib/xorg/Xorg', ':0', '-auth', fake]);
    const r = runner({ logind: true, answering: [':0'] });
    await expect(discovery(r.run).discover()).rejects.toThrow(/not owned by root/);
    // A link (even to a good cookie file) or a FIFO is not opened.
    rmSync(join(proc, '52'), { recursive: true });
    const link = join(root, 'link.auth');
    symlinkSync(authFile(0), link);
    fakeProcess(53, 0, [], '/usr/lib/xorg/Xorg', ['/usr/lib/xorg/Xorg', ':0', '-auth', link]);
    await expect(discovery(r.run).discover()).rejects.toThrow(/is not a regular file/);
  });

  it('the agent’s own helpers do not keep a session; a forged helper mark hides nothing', async () => {
    rmSync(join(proc, '100'), { recursive: true });
    const d = (run: ExecRunner) =>
      createLinuxSessionDiscovery({
        run,
        procDir: proc,
        xSocketDir: sockets,
        runtimeDir: runtime,
        passwdFile: new URL('../../testdata/session/passwd.txt', import.meta.url).pathname,
        selfPid: 900,
      });
    // An xprop spy the agent (pid 900) started as alice, and its child: alice logged out.
    fakeProcess(901, 1000, ['DISPLAY=:0', 'CUSTODIAN_SESSION_HELPER=1'], '/usr/bin/xprop', ['xprop'], 900);
    fakeProcess(902, 1000, ['DISPLAY=:0', 'CUSTODIAN_SESSION_HELPER=1'], '/usr/bin/xprop', ['xprop'], 901);
    expect(await d(runner({ logind: false, answering: [':0'] }).run).discover()).toBeUndefined();
    // Alice's own process carrying the mark still counts (it does not descend from the agent).
    fakeProcess(903, 1000, ['DISPLAY=:0', 'CUSTODIAN_SESSION_HELPER=1']);
    expect(await d(runner({ logind: false, answering: [':0'] }).run).discover()).toMatchObject({ uid: 1000 });
  });

  it('the fingerprint changes with the environments and spawns nothing', async () => {
    const r = runner({ logind: false, answering: [] });
    const d = discovery(r.run);
    const a = await d.fingerprint();
    expect(await d.fingerprint()).toBe(a);
    rmSync(join(proc, '100'), { recursive: true });
    expect(await d.fingerprint()).not.toBe(a);
    expect(r.calls).toEqual([]);
  });
});
