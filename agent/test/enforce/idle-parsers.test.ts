// Idle-time parsers and command construction for every platform, on captured (Linux) and
// documented-format (Windows, macOS) output in testdata/idle.
import { CustodianError } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { createDarwinIdleProbe, IOREG_IDLE_ARGS, parseHidIdleTime } from '../../src/platform/idle.darwin.ts';
import {
  createLinuxIdleProbe,
  linuxSession,
  logindIdleArgs,
  MUTTER_IDLE_ARGS,
  parseLogindIdle,
  parseMutterIdletime,
  parseXprintidle,
} from '../../src/platform/idle.linux.ts';
import { createIdleProbe } from '../../src/platform/idle.ts';
import {
  createWin32IdleProbe,
  IDLE_ONCE_SCRIPT,
  idleHelperLoopScript,
  parseWin32IdleSample,
} from '../../src/platform/idle.win32.ts';
import { recordingRunner, testdata } from './harness.ts';

describe('Linux idle', () => {
  it('parses xprintidle (captured on Xvfb)', () => {
    expect(parseXprintidle(testdata('idle/xprintidle.txt'))).toBe(826);
    expect(() => parseXprintidle("couldn't open display")).toThrow(CustodianError);
  });
  it('parses Mutter GetIdletime and logind IdleHint', () => {
    expect(parseMutterIdletime(testdata('idle/mutter-getidletime.txt'))).toBe(183_204);
    expect(parseLogindIdle(testdata('idle/loginctl-idle-yes.txt'), 1_763_800_005_000)).toBe(5_000);
    expect(parseLogindIdle(testdata('idle/loginctl-idle-no.txt'), 1_763_800_005_000)).toBe(0);
    expect(() => parseLogindIdle('Failed to get session', 0)).toThrow(/IdleHint/);
  });
  it('picks the measurement from the session kind', async () => {
    expect(linuxSession({ DISPLAY: ':0' }).kind).toBe('x11');
    expect(linuxSession({ DISPLAY: ':0', WAYLAND_DISPLAY: 'wayland-0' }).kind).toBe('wayland');
    expect(linuxSession({}).kind).toBe('none');
    const r = recordingRunner((cmd) => (cmd === 'gdbus' ? '(uint64 42,)' : 'IdleHint=no\n'));
    const mutter = createLinuxIdleProbe({ env: { WAYLAND_DISPLAY: 'wayland-0' }, run: r.run });
    expect(mutter.method).toBe('mutter-idlemonitor');
    expect(await mutter.idleMs()).toBe(42);
    const logind = createLinuxIdleProbe({ env: { XDG_SESSION_ID: '7' }, run: r.run });
    expect(await logind.idleMs()).toBe(0);
    expect(r.calls.map((c) => [c.cmd, ...c.args])).toEqual([
      ['gdbus', ...MUTTER_IDLE_ARGS],
      ['loginctl', ...logindIdleArgs('7')],
    ]);
    const none = createLinuxIdleProbe({ env: {}, run: r.run });
    await expect(none.availability()).resolves.toEqual({
      available: false,
      reason: 'no X display and no logind session',
    });
  });
});

describe('Windows idle (per-user helper)', () => {
  it('parses a GetLastInputInfo sample and refuses session 0', () => {
    expect(parseWin32IdleSample(testdata('idle/win32-idle-sample.txt'))).toBe(42_310);
    expect(() => parseWin32IdleSample(testdata('idle/win32-idle-session0.txt'))).toThrow(/session 0/);
    expect(() => parseWin32IdleSample('error=5 session=2')).toThrow(/Win32 error 5/);
    expect(() => parseWin32IdleSample('Add-Type : blah')).toThrow(/unexpected output/);
  });
  it('builds the PowerShell P/Invoke command', async () => {
    const r = recordingRunner(() => 'idle_ms=10 session=1\r\n');
    const probe = createWin32IdleProbe({ run: r.run });
    expect(await probe.idleMs()).toBe(10);
    expect(r.calls[0]?.cmd).toBe('powershell.exe');
    expect(r.calls[0]?.args.slice(0, 5)).toEqual([
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-Command',
    ]);
    expect(r.calls[0]?.args[5]).toBe(IDLE_ONCE_SCRIPT);
    expect(IDLE_ONCE_SCRIPT).toContain('GetLastInputInfo(ref LASTINPUTINFO plii)');
    expect(IDLE_ONCE_SCRIPT).toContain('unchecked((uint)System.Environment.TickCount - i.dwTime)');
    expect(idleHelperLoopScript(1000)).toContain('Start-Sleep -Milliseconds 1000');
    expect(() => idleHelperLoopScript(5)).toThrow(RangeError);
  });
});

describe('macOS idle', () => {
  it('parses HIDIdleTime (ns) from ioreg as ms', async () => {
    expect(parseHidIdleTime(testdata('idle/darwin-ioreg-hidsystem.txt'))).toBe(75_421);
    expect(() => parseHidIdleTime('+-o Root')).toThrow(/HIDIdleTime/);
    const r = recordingRunner(() => testdata('idle/darwin-ioreg-hidsystem.txt'));
    expect(await createDarwinIdleProbe({ run: r.run }).idleMs()).toBe(75_421);
    expect(r.calls[0]).toMatchObject({ cmd: 'ioreg', args: IOREG_IDLE_ARGS });
  });
});

it('an unsupported platform says so instead of guessing', async () => {
  const p = await createIdleProbe({}, 'aix');
  await expect(p.availability()).resolves.toEqual({
    available: false,
    reason: 'idle time is not supported on aix',
  });
  await expect(p.idleMs()).rejects.toThrow(/not supported on aix/);
});
