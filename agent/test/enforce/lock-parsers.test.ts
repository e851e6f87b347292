// Lock-state parsers and lock command construction for every platform.
import { describe, expect, it } from 'vitest';
import {
  createDarwinScreenLocker,
  DISPLAY_SLEEP_NOW,
  parseIoregScreenLocked,
  parseScreenLockStatus,
} from '../../src/platform/lock.darwin.ts';
import { parseGdbusBool, parseLockedHint, screensaverArgs } from '../../src/platform/lock.linux.ts';
import { createScreenLocker } from '../../src/platform/lock.ts';
import {
  createWin32ScreenLocker,
  LOCK_WORKSTATION,
  parseTasklistLogonUi,
} from '../../src/platform/lock.win32.ts';
import { decideX11Locked, type X11LockEvidence } from '../../src/platform/x11-lock-decision.ts';
import { recordingRunner, testdata } from './harness.ts';

const evidence = JSON.parse(testdata('lock/x11-evidence.json')) as Record<string, X11LockEvidence>;
const captured = (name: string): X11LockEvidence => structuredClone(evidence[name] as X11LockEvidence);

describe('X11 lock decision (evidence captured on Xvfb + openbox)', () => {
  it('the agent’s own i3lock, viewable on top over the whole screen, is a lock', () => {
    expect(decideX11Locked(captured('i3lock'))).toMatchObject({ locked: true, by: 'own-locker' });
    // A small window above it (a notification) gets no input while the locker holds the grabs.
    expect(decideX11Locked(captured('i3lockUnderPopup'))).toMatchObject({ locked: true, by: 'own-locker' });
  });
  it('issue 11: an xterm classed i3lock, unmapped and sized to the screen, is not', () => {
    expect(decideX11Locked(captured('fakeUnmapped'))).toMatchObject({ locked: false });
    expect(decideX11Locked(captured('fakeMappedFullscreen'))).toMatchObject({ locked: false });
    expect(decideX11Locked(captured('unlocked'))).toMatchObject({ locked: false });
  });
  it('our i3lock still running but unmapped is not a lock, and is reported as tampering', () => {
    const v = decideX11Locked(captured('i3lockUnmapped'));
    expect(v.locked).toBe(false);
    expect(v.locked === false && v.tamper).toMatch(/agent's screen locker \(pid \d+\) is running but is not/);
  });
  it('a real locker the user started counts; a look-alike binary, LD_PRELOAD or another user do not', () => {
    const foreign = captured('i3lock');
    delete foreign.own;
    foreign.topProcess = { ...foreign.topProcess!, uid: 1000 };
    expect(decideX11Locked(foreign)).toMatchObject({ locked: true, by: 'locker-process' });
    const copied = structuredClone(foreign);
    copied.topProcess!.exe = '/home/pupil/bin/i3lock';
    expect(decideX11Locked(copied)).toMatchObject({ locked: false });
    const notRoots = structuredClone(foreign);
    notRoots.topProcess!.exeUid = 1000;
    expect(decideX11Locked(notRoots)).toMatchObject({ locked: false });
    const preload = structuredClone(foreign);
    preload.topProcess!.preload = true;
    expect(decideX11Locked(preload)).toMatchObject({ locked: false });
    const other = structuredClone(foreign);
    other.topProcess!.uid = 1001;
    expect(decideX11Locked(other)).toMatchObject({ locked: false });
    const unknownOwner = structuredClone(foreign);
    delete unknownOwner.top!.clientPid;
    expect(decideX11Locked(unknownOwner)).toMatchObject({ locked: false });
    const small = structuredClone(foreign);
    small.top!.width = 1023;
    expect(decideX11Locked(small)).toMatchObject({ locked: false });
  });
});

describe('Linux lock state', () => {
  it('parses LockedHint and ScreenSaver.GetActive', () => {
    expect(parseLockedHint(testdata('lock/loginctl-lockedhint-yes.txt'))).toBe(true);
    expect(parseLockedHint('LockedHint=no\n')).toBe(false);
    expect(() => parseLockedHint('')).toThrow(/LockedHint/);
    expect(parseGdbusBool(testdata('lock/gdbus-getactive-true.txt'))).toBe(true);
    expect(parseGdbusBool('(false,)')).toBe(false);
    expect(screensaverArgs('gnome', 'Lock')).toEqual([
      'call',
      '--session',
      '--dest',
      'org.gnome.ScreenSaver',
      '--object-path',
      '/org/gnome/ScreenSaver',
      '--method',
      'org.gnome.ScreenSaver.Lock',
    ]);
  });
  it('without a display or session there is no way to lock, and it says so', async () => {
    const l = await createScreenLocker({ env: {} }, 'linux');
    expect(l.methods).toEqual([]);
    await expect(l.availability()).resolves.toEqual({
      available: false,
      reason: 'no X display and no logind session',
    });
    await expect(l.lock()).rejects.toThrow(/no lock method/);
    await expect(l.isLocked()).rejects.toThrow(/no graphical session/);
  });
  it('orders methods: configured locker, loginctl, D-Bus screensavers', async () => {
    const l = await createScreenLocker(
      {
        env: { DISPLAY: ':5', XDG_SESSION_ID: '3', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x' },
        lockCommand: ['/usr/bin/xsecurelock'],
      },
      'linux',
    );
    expect(l.methods).toEqual([
      'xsecurelock',
      'loginctl',
      'dbus-screensaver-gnome',
      'dbus-screensaver-freedesktop',
    ]);
  });
  it('a discovered session’s clean environment keeps the agent’s own CUSTODIAN_LOCK_COMMAND', async () => {
    const saved = process.env['CUSTODIAN_LOCK_COMMAND'];
    process.env['CUSTODIAN_LOCK_COMMAND'] = 'xsecurelock';
    try {
      const l = await createScreenLocker({ env: { PATH: '/usr/bin', DISPLAY: ':5' } }, 'linux');
      expect(l.methods).toEqual(['xsecurelock']);
    } finally {
      if (saved === undefined) delete process.env['CUSTODIAN_LOCK_COMMAND'];
      else process.env['CUSTODIAN_LOCK_COMMAND'] = saved;
    }
  });
});

describe('Windows lock', () => {
  it('parses tasklist for LogonUI', () => {
    expect(parseTasklistLogonUi(testdata('lock/win32-tasklist-logonui.txt'))).toBe(true);
    expect(parseTasklistLogonUi(testdata('lock/win32-tasklist-logonui.txt'), 2)).toBe(false);
    expect(parseTasklistLogonUi(testdata('lock/win32-tasklist-none.txt'))).toBe(false);
    expect(() => parseTasklistLogonUi('"explorer.exe","1","Console","1","1 K"')).toThrow(/unexpected row/);
  });
  it('runs LockWorkStation through rundll32 and checks LogonUI came up', async () => {
    let polls = 0;
    const r = recordingRunner((cmd) => {
      if (cmd === 'tasklist.exe')
        return ++polls < 2
          ? testdata('lock/win32-tasklist-none.txt')
          : testdata('lock/win32-tasklist-logonui.txt');
      return '';
    });
    const l = createWin32ScreenLocker({ run: r.run, env: { SESSIONNAME: 'Console' } });
    await expect(l.availability()).resolves.toMatchObject({ available: true });
    await expect(l.lock()).resolves.toBe('LockWorkStation');
    expect(r.calls[0]).toMatchObject({ cmd: LOCK_WORKSTATION[0], args: LOCK_WORKSTATION[1] });
    expect(r.calls.slice(1).every((c) => c.cmd === 'tasklist.exe')).toBe(true);
    const svc = createWin32ScreenLocker({ run: r.run, env: { SESSIONNAME: 'Services' } });
    await expect(svc.availability()).resolves.toMatchObject({
      available: false,
      reason: expect.stringMatching(/per-user helper/),
    });
  });
  it('reports a lock that never showed as a failure', async () => {
    const r = recordingRunner((cmd) =>
      cmd === 'tasklist.exe' ? testdata('lock/win32-tasklist-none.txt') : '',
    );
    const l = createWin32ScreenLocker({ run: r.run, verifyMs: 300 });
    await expect(l.lock()).rejects.toMatchObject({
      details: { method: 'LockWorkStation' },
      message: expect.stringMatching(/LogonUI did not start/),
    });
  });
});

describe('macOS lock', () => {
  it('parses the screen-lock setting and the console lock state', () => {
    expect(parseScreenLockStatus(testdata('lock/darwin-sysadminctl-immediate.txt'))).toBe(0);
    expect(parseScreenLockStatus(testdata('lock/darwin-sysadminctl-300.txt'))).toBe(300);
    expect(parseScreenLockStatus(testdata('lock/darwin-sysadminctl-off.txt'))).toBeNull();
    expect(parseIoregScreenLocked(testdata('lock/darwin-ioreg-root-locked.txt'))).toBe(true);
    expect(parseIoregScreenLocked(testdata('lock/darwin-ioreg-root-unlocked.txt'))).toBe(false);
    expect(() => parseIoregScreenLocked('+-o Root')).toThrow(/no console session/);
  });
  it('sleeps the display only when that locks, and verifies it', async () => {
    let locked = false;
    const r = recordingRunner((cmd) => {
      if (cmd === 'sysadminctl') return testdata('lock/darwin-sysadminctl-immediate.txt');
      if (cmd === 'pmset') {
        locked = true;
        return '';
      }
      return testdata(locked ? 'lock/darwin-ioreg-root-locked.txt' : 'lock/darwin-ioreg-root-unlocked.txt');
    });
    await expect(createDarwinScreenLocker({ run: r.run }).lock()).resolves.toBe('pmset-displaysleepnow');
    expect(r.calls.map((c) => c.cmd)).toEqual(['sysadminctl', DISPLAY_SLEEP_NOW[0], 'ioreg']);
    const delayed = recordingRunner(() => testdata('lock/darwin-sysadminctl-300.txt'));
    await expect(createDarwinScreenLocker({ run: delayed.run }).lock()).rejects.toThrow(/waits 300 s/);
    expect(delayed.calls.map((c) => c.cmd)).toEqual(['sysadminctl']);
  });
});
