// Session discovery: pure parsers on captured output (agent/testdata/session/) and the watcher's
// change logic with a scripted discovery (no OS involved).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.ts';
import {
  activeLocalUid,
  chooseLogindSession,
  decideSession,
  descendantsOf,
  displayClaims,
  type LogindSessionProps,
  parseEnviron,
  parseListSessions,
  parsePasswd,
  parseShowSession,
  parseStatPpid,
  safeSessionVars,
  showSessionArgs,
  type XServerFact,
} from '../../src/platform/session.linux.ts';
import {
  type GraphicalSession,
  hasOwnDisplay,
  RETRY_EMPTY_EVERY,
  runAsFor,
  SESSION_PATH,
  type SessionDiscovery,
  SessionWatcher,
  sessionEnvironment,
} from '../../src/platform/session.ts';
import {
  cookiesForDisplay,
  localDisplayNumber,
  parseXauthority,
  parseXServerProcess,
  serializeXauthority,
} from '../../src/platform/x11-auth.ts';

function session(uid: number, user: string, vars: Record<string, string>): GraphicalSession {
  return { source: 'proc', uid, gid: uid, user, home: `/home/${user}`, vars };
}

const data = (f: string) => readFileSync(new URL(`../../testdata/session/${f}`, import.meta.url), 'utf8');

describe('loginctl parsers', () => {
  it('lists sessions (systemd 252 and 256 column sets)', () => {
    expect(parseListSessions(data('list-sessions.txt'))).toEqual([
      { id: '2', uid: 1000, user: 'alice' },
      { id: 'c1', uid: 120, user: 'gdm' },
      { id: '5', uid: 1001, user: 'bob' },
    ]);
    expect(parseListSessions(data('list-sessions-v256.txt')).map((r) => r.id)).toEqual(['3', 'c1']);
    expect(parseListSessions('')).toEqual([]);
  });

  it('reads show-session properties and picks the active local graphical one', () => {
    const x11 = parseShowSession('2', data('show-session-x11-active.txt'));
    expect(x11).toEqual({
      id: '2',
      active: true,
      type: 'x11',
      display: ':0',
      user: 'alice',
      uid: 1000,
      remote: false,
    });
    const greeter = parseShowSession('c1', data('show-session-greeter.txt'));
    const ssh = parseShowSession('5', data('show-session-ssh.txt'));
    const wl = parseShowSession('7', data('show-session-wayland.txt'));
    expect(chooseLogindSession([greeter, ssh, x11])?.id).toBe('2');
    expect(chooseLogindSession([greeter, ssh])).toBeUndefined();
    expect(chooseLogindSession([ssh, wl])).toMatchObject({ id: '7', type: 'wayland', display: '' });
    expect(activeLocalUid([greeter, ssh, x11])).toBe(1000);
    expect(activeLocalUid([greeter, ssh])).toBeUndefined();
    expect(() => parseShowSession('9', 'Failed to get session: No such session')).toThrow(/show-session 9/);
    expect(showSessionArgs('2')).toEqual([
      'show-session',
      '2',
      '-p',
      'Active',
      '-p',
      'Type',
      '-p',
      'Display',
      '-p',
      'Name',
      '-p',
      'User',
      '-p',
      'Remote',
    ]);
  });
});

describe('/proc scan', () => {
  it('keeps only the session variables of an environ', () => {
    expect(parseEnviron(data('environ-x11.bin'))).toEqual({
      DISPLAY: ':0',
      XAUTHORITY: '/home/alice/.Xauthority',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus',
      XDG_RUNTIME_DIR: '/run/user/1000',
      XDG_SESSION_TYPE: 'x11',
    });
  });

  it('drops session variables whose values are not plain (they reach root commands)', () => {
    const raw = [
      'DISPLAY=:0',
      'XAUTHORITY=/home/alice/.Xauthority',
      'DBUS_SESSION_BUS_ADDRESS=unixexec:path=/bin/sh,argv1=-c',
      'WAYLAND_DISPLAY=wayland-0',
      'XDG_SESSION_ID=$(reboot)',
    ].join('\0');
    expect(parseEnviron(raw)).toEqual({
      DISPLAY: ':0',
      XAUTHORITY: '/home/alice/.Xauthority',
      WAYLAND_DISPLAY: 'wayland-0',
    });
    expect(
      safeSessionVars({
        DISPLAY: 'evil; rm',
        XAUTHORITY: 'relative/path',
        DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus',
        XDG_RUNTIME_DIR: '/run/user/1000',
        XDG_SESSION_TYPE: 'x11',
      }),
    ).toEqual({
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus',
      XDG_RUNTIME_DIR: '/run/user/1000',
      XDG_SESSION_TYPE: 'x11',
    });
    // A host part, even loopback, would send the cookie over TCP to whoever listens (issue 11).
    for (const d of ['localhost:10.0', '127.0.0.1:5', 'unix:0', 'host/unix:0', ':0 ', ':99999'])
      expect(safeSessionVars({ DISPLAY: d })).toEqual({});
    expect(safeSessionVars({ DISPLAY: ':10.0' })).toEqual({ DISPLAY: ':10.0' });
  });

  it('maps uids to names from passwd', () => {
    const users = parsePasswd(data('passwd.txt'));
    expect(users.get(1000)).toBe('alice');
    expect(users.get(65534)).toBe('nobody');
    expect(users.size).toBe(3);
  });
});

describe('session environment', () => {
  it('lays the session over the base and drops stale session variables', () => {
    const s = session(1000, 'alice', { DISPLAY: ':0', XAUTHORITY: '/a' });
    // A session's helpers get a clean environment: nothing of root's own (here FOO, PATH).
    const env = sessionEnvironment({ PATH: '/bin', WAYLAND_DISPLAY: 'old', FOO: 'x' }, s, 1000);
    expect(env).toEqual({
      PATH: SESSION_PATH,
      LANG: 'C.UTF-8',
      CUSTODIAN_SESSION_HELPER: '1',
      DISPLAY: ':0',
      XAUTHORITY: '/a',
    });
    expect(runAsFor(env)).toBeUndefined(); // not root: nothing to drop to
    const asRoot = sessionEnvironment({}, s, 0);
    expect(runAsFor(asRoot)).toEqual({ uid: 1000, gid: 1000, user: 'alice', home: '/home/alice' });
    expect(sessionEnvironment({ PATH: '/bin', DISPLAY: ':9' }, undefined)).toEqual({ PATH: '/bin' });
    expect(hasOwnDisplay({ DISPLAY: ':0' })).toBe(true);
    expect(hasOwnDisplay({ WAYLAND_DISPLAY: 'wayland-0' })).toBe(true);
    expect(hasOwnDisplay({})).toBe(false);
  });

  it('discovers again only when the fingerprint changed, and tells listeners about changes', async () => {
    let fp = 'a';
    let answer: GraphicalSession | undefined = session(1000, 'alice', { DISPLAY: ':0' });
    let discovers = 0;
    const discovery: SessionDiscovery = {
      fingerprint: async () => fp,
      discover: async () => {
        discovers++;
        return answer;
      },
    };
    const w = new SessionWatcher({ discovery, log: silentLogger, base: { PATH: '/bin' } });
    const seen: (string | undefined)[] = [];
    w.onChange((s) => seen.push(s?.user));
    expect(await w.check(false)).toBe(true);
    const env1 = w.current();
    expect(env1).toEqual({
      PATH: SESSION_PATH,
      LANG: 'C.UTF-8',
      CUSTODIAN_SESSION_HELPER: '1',
      DISPLAY: ':0',
    });
    expect(await w.check(false)).toBe(false);
    expect(discovers).toBe(1);
    expect(w.current()).toBe(env1); // same object while nothing changed
    fp = 'b';
    answer = session(1001, 'bob', { DISPLAY: ':1' });
    expect(await w.check(false)).toBe(true);
    expect(w.current()).toEqual({
      PATH: SESSION_PATH,
      LANG: 'C.UTF-8',
      CUSTODIAN_SESSION_HELPER: '1',
      DISPLAY: ':1',
    });
    fp = 'c';
    answer = undefined;
    expect(await w.check(false)).toBe(true);
    expect(w.current()).toEqual({ PATH: '/bin' });
    expect(seen).toEqual(['alice', 'bob', undefined]);
    w.stop();
  });

  it('without a session, discovers again now and then even when nothing changed', async () => {
    let discovers = 0;
    const discovery: SessionDiscovery = {
      fingerprint: async () => 'same',
      discover: async () => {
        discovers++;
        return undefined;
      },
    };
    const w = new SessionWatcher({ discovery, log: silentLogger, base: {} });
    await w.check(true);
    for (let i = 0; i < RETRY_EMPTY_EVERY * 2; i++) await w.check(false);
    expect(discovers).toBe(3);
    w.stop();
  });

  it('keeps the session it has when discovery fails', async () => {
    let fail = false;
    const discovery: SessionDiscovery = {
      fingerprint: async () => {
        if (fail) throw new Error('boom');
        return 'x';
      },
      discover: async () => session(1, 'u', { DISPLAY: ':3' }),
    };
    const w = new SessionWatcher({ discovery, log: silentLogger, base: {} });
    await w.check(true);
    fail = true;
    expect(await w.check(true)).toBe(false);
    expect(w.current()).toMatchObject({ DISPLAY: ':3' });
    w.stop();
  });
});

describe('X server facts and cookies (pure)', () => {
  it('reads an X server from its exe and command line; anything else is not one', () => {
    const argv = (...a: string[]) => `${a.join('\0')}\0`;
    expect(
      parseXServerProcess(
        9,
        0,
        '/usr/lib/xorg/Xorg',
        argv('/usr/lib/xorg/Xorg', ':0', '-seat', 'seat0', '-auth', '/var/run/lightdm/root/:0'),
      ),
    ).toEqual({ pid: 9, uid: 0, display: 0, authFile: '/var/run/lightdm/root/:0' });
    expect(parseXServerProcess(9, 0, '/usr/bin/Xvfb', argv('Xvfb', ':12', '-nolisten', 'tcp'))).toEqual({
      pid: 9,
      uid: 0,
      display: 12,
    });
    // argv[0] is the process's own choice; the kernel's exe link decides.
    expect(parseXServerProcess(9, 1000, '/usr/bin/python3', argv('Xorg', ':0'))).toBeUndefined();
    expect(parseXServerProcess(9, 0, '/usr/bin/Xvfb', argv('Xvfb', '-nolisten', 'tcp'))).toBeUndefined();
    expect(parseXServerProcess(9, 0, '/usr/bin/Xvfb', argv('Xvfb', ':1', '-auth', 'relative'))).toEqual({
      pid: 9,
      uid: 0,
      display: 1,
    });
  });

  it('accepts only local displays', () => {
    expect(localDisplayNumber(':0')).toBe(0);
    expect(localDisplayNumber(':10.0')).toBe(10);
    for (const d of ['127.0.0.1:5', 'localhost:0', 'unix:0', ':0/x', '', ':'])
      expect(localDisplayNumber(d)).toBeUndefined();
  });

  it('round-trips Xauthority entries and picks the cookies of one display', () => {
    const c = (number: string, name = 'MIT-MAGIC-COOKIE-1') => ({
      family: 256,
      address: Buffer.from('host'),
      number,
      name,
      data: Buffer.alloc(16, number.length),
    });
    const entries = [c('0'), c('1'), c(''), c('0', 'XDM-AUTHORIZATION-1')];
    const parsed = parseXauthority(serializeXauthority(entries));
    expect(parsed).toEqual(entries);
    expect(cookiesForDisplay(parsed, 0).map((e) => e.number)).toEqual(['0', '']);
    expect(() => parseXauthority(serializeXauthority(entries).subarray(0, 20))).toThrow(/truncated/);
    expect(() => parseXauthority(Buffer.alloc(70_000))).toThrow(/too large/);
  });
});

describe('which session to watch (pure)', () => {
  const server = (display: number, uid: number, socketUid: number | undefined = uid): XServerFact => ({
    pid: 100 + display,
    uid,
    display,
    authFile: `/auth/${display}`,
    ...(socketUid !== undefined ? { socketUid } : {}),
  });
  const ls = (p: Partial<LogindSessionProps>): LogindSessionProps => ({
    id: '2',
    active: true,
    type: 'x11',
    display: ':0',
    user: 'alice',
    uid: 1000,
    remote: false,
    ...p,
  });

  it('with logind only its session counts, on a trusted server of its display', () => {
    expect(decideSession({ logind: [ls({})], servers: [server(0, 0)], claims: [] })).toMatchObject({
      kind: 'x11',
      uid: 1000,
      display: 0,
    });
    // Rootless Xorg of that user: fine. Someone else's server, or a socket of another owner: no.
    expect(decideSession({ logind: [ls({})], servers: [server(0, 1000)], claims: [] }).kind).toBe('x11');
    expect(decideSession({ logind: [ls({})], servers: [server(0, 1001)], claims: [] }).kind).toBe('none');
    expect(decideSession({ logind: [ls({})], servers: [server(0, 0, 1000)], claims: [] }).kind).toBe('none');
    expect(
      decideSession({ logind: [ls({ display: '127.0.0.1:0' })], servers: [server(0, 0)], claims: [] }),
    ).toEqual({
      kind: 'none',
      reason: 'logind names a non-local display "127.0.0.1:0"',
    });
    // Claims from /proc never move logind's answer.
    const claims = [{ uid: 1000, display: 5, processes: 50 }];
    expect(decideSession({ logind: [ls({})], servers: [server(0, 0), server(5, 0)], claims })).toMatchObject({
      display: 0,
    });
    expect(
      decideSession({ logind: [ls({ type: 'wayland', display: '' })], servers: [], claims: [] }).kind,
    ).toBe('wayland');
    expect(decideSession({ logind: [], servers: [server(0, 0)], claims }).kind).toBe('none');
  });

  it('without logind: the root-served display one user sits at; never a user-run server', () => {
    const claims = displayClaims([
      { uid: 1000, vars: { DISPLAY: ':0' } },
      { uid: 1000, vars: { DISPLAY: ':5' } },
      { uid: 1000, vars: { DISPLAY: ':5' } },
      { uid: 1000, vars: { DISPLAY: '127.0.0.1:7' } },
      { uid: 0, vars: { DISPLAY: ':9' } },
    ]);
    expect(claims).toEqual([
      { uid: 1000, display: 0, processes: 1 },
      { uid: 1000, display: 5, processes: 2 },
    ]);
    expect(
      decideSession({ logind: undefined, servers: [server(0, 0), server(5, 1000)], claims }),
    ).toMatchObject({
      kind: 'x11',
      uid: 1000,
      display: 0,
    });
    const shared = [...claims, { uid: 1001, display: 0, processes: 1 }];
    expect(decideSession({ logind: undefined, servers: [server(0, 0)], claims: shared }).kind).toBe('none');
  });
});

describe('the agent’s own helpers (pure)', () => {
  it('reads the parent pid from /proc/PID/stat, whatever the command name holds', () => {
    expect(parseStatPpid('4242 (xprop) S 17 4242 17 0 -1')).toBe(17);
    expect(parseStatPpid('4242 (a ) b (c) S 99 1 1')).toBe(99);
    expect(parseStatPpid('')).toBe(0);
  });
  it('finds every descendant, however deep', () => {
    const procs = [
      { pid: 2, ppid: 1 },
      { pid: 3, ppid: 2 },
      { pid: 4, ppid: 3 },
      { pid: 5, ppid: 9 },
    ];
    expect([...descendantsOf(1, procs)].sort()).toEqual([2, 3, 4]);
  });
});
