// Session discovery: pure parsers on captured output (agent/testdata/session/) and the watcher's
// change logic with a scripted discovery (no OS involved).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.ts';
import {
  activeLocalUid,
  chooseLogindSession,
  parseEnviron,
  parseListSessions,
  parsePasswd,
  parseShowSession,
  safeSessionVars,
  sessionCandidates,
  showSessionArgs,
} from '../../src/platform/session.linux.ts';
import {
  type GraphicalSession,
  hasOwnDisplay,
  RETRY_EMPTY_EVERY,
  type SessionDiscovery,
  SessionWatcher,
  sessionEnvironment,
} from '../../src/platform/session.ts';

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
    expect(safeSessionVars({ DISPLAY: 'localhost:10.0' })).toEqual({ DISPLAY: 'localhost:10.0' });
  });

  it('groups display environments of non-root processes, most common first', () => {
    const a = { DISPLAY: ':0', XAUTHORITY: '/a' };
    const b = { DISPLAY: ':1', XAUTHORITY: '/b' };
    const c = sessionCandidates([
      { uid: 1001, vars: b },
      { uid: 1000, vars: a },
      { uid: 0, vars: a },
      { uid: 0, vars: a },
      { uid: 1000, vars: {} },
      { uid: 1000, vars: { ...a } },
    ]);
    expect(c).toEqual([
      { uid: 1000, vars: a, processes: 2 },
      { uid: 1001, vars: b, processes: 1 },
    ]);
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
    const s: GraphicalSession = {
      source: 'proc',
      uid: 1000,
      user: 'alice',
      vars: { DISPLAY: ':0', XAUTHORITY: '/a' },
    };
    const env = sessionEnvironment({ PATH: '/bin', WAYLAND_DISPLAY: 'old' }, s);
    expect(env).toEqual({ PATH: '/bin', DISPLAY: ':0', XAUTHORITY: '/a' });
    expect(sessionEnvironment({ PATH: '/bin', DISPLAY: ':9' }, undefined)).toEqual({ PATH: '/bin' });
    expect(hasOwnDisplay({ DISPLAY: ':0' })).toBe(true);
    expect(hasOwnDisplay({ WAYLAND_DISPLAY: 'wayland-0' })).toBe(true);
    expect(hasOwnDisplay({})).toBe(false);
  });

  it('discovers again only when the fingerprint changed, and tells listeners about changes', async () => {
    let fp = 'a';
    let answer: GraphicalSession | undefined = {
      source: 'proc',
      uid: 1000,
      user: 'alice',
      vars: { DISPLAY: ':0' },
    };
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
    expect(env1).toEqual({ PATH: '/bin', DISPLAY: ':0' });
    expect(await w.check(false)).toBe(false);
    expect(discovers).toBe(1);
    expect(w.current()).toBe(env1); // same object while nothing changed
    fp = 'b';
    answer = { source: 'proc', uid: 1001, user: 'bob', vars: { DISPLAY: ':1' } };
    expect(await w.check(false)).toBe(true);
    expect(w.current()).toEqual({ PATH: '/bin', DISPLAY: ':1' });
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
      discover: async () => ({ source: 'proc', uid: 1, user: 'u', vars: { DISPLAY: ':3' } }),
    };
    const w = new SessionWatcher({ discovery, log: silentLogger, base: {} });
    await w.check(true);
    fail = true;
    expect(await w.check(true)).toBe(false);
    expect(w.current()).toEqual({ DISPLAY: ':3' });
    w.stop();
  });
});
