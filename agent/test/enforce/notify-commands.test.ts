// Command construction for the idle warning on Windows and macOS (never run on either), the
// fixed text, and the unsupported platform.
import { ErrorCode } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { createDarwinNotifier, osascriptArgs } from '../../src/platform/notify.darwin.ts';
import { xmessageArgs } from '../../src/platform/notify.linux.ts';
import { createNotifier, WARNING_TITLE, warningText } from '../../src/platform/notify.ts';
import { createWin32Notifier, msgArgs } from '../../src/platform/notify.win32.ts';
import { recordingRunner } from './harness.ts';

describe('warning text', () => {
  it('is our fixed sentence with whole seconds only', () => {
    expect(warningText(60)).toBe(
      'This computer will lock in 60 seconds — move the mouse or press a key to stay signed in',
    );
    expect(warningText(0.2)).toBe(
      'This computer will lock in 1 second — move the mouse or press a key to stay signed in',
    );
    expect(warningText(Number.NaN)).toMatch(/^This computer will lock in 1 second /);
    expect(warningText(2.4)).toMatch(/ in 3 seconds /);
  });

  it('xmessage gets ASCII text, a fixed title, a timeout and a centred window', () => {
    expect(xmessageArgs(60)).toEqual([
      '-center',
      '-title',
      WARNING_TITLE,
      '-name',
      'custodian-idle-warning',
      '-timeout',
      '60',
      '-buttons',
      'OK:0',
      'This computer will lock in 60 seconds - move the mouse or press a key to stay signed in',
    ]);
  });
});

describe('Windows: msg.exe', () => {
  it('targets the console session with a /TIME matching the countdown', async () => {
    expect(msgArgs(45)).toEqual(['console', '/TIME:45', warningText(45)]);
    const r = recordingRunner(() => '');
    const n = createWin32Notifier({ run: r.run });
    expect(n.method).toBe('msg.exe');
    await n.show(45);
    expect(r.calls.map((c) => [c.cmd, c.args])).toEqual([
      ['msg.exe', ['console', '/TIME:45', warningText(45)]],
    ]);
    await n.dismiss();
    expect(r.calls).toHaveLength(1); // a sent message cannot be withdrawn: nothing is run
  });

  it('a failing msg.exe is COMMAND_FAILED; a missing one makes it unavailable', async () => {
    const n = createWin32Notifier({
      run: async () => {
        throw new Error('msg.exe is not installed');
      },
    });
    await expect(n.show(10)).rejects.toMatchObject({ code: ErrorCode.COMMAND_FAILED });
    const a = await n.availability();
    expect(a.available).toBe(false);
    expect(a.reason).toMatch(/^msg.exe not found/);
  });
});

describe('macOS: osascript display notification', () => {
  it('passes text and title as argv, never inside the script', async () => {
    const args = osascriptArgs(60);
    expect(args).toEqual([
      '-e',
      'on run argv',
      '-e',
      'display notification (item 1 of argv) with title (item 2 of argv)',
      '-e',
      'end run',
      warningText(60),
      WARNING_TITLE,
    ]);
    const script = args.filter((_, i) => args[i - 1] === '-e').join('\n');
    expect(script).not.toContain('This computer');
    const r = recordingRunner(() => '');
    const env = { HOME: '/Users/pupil' };
    const n = createDarwinNotifier({ run: r.run, env });
    await n.show(60);
    expect(r.calls).toEqual([{ cmd: 'osascript', args, env }]);
    await n.dismiss();
    expect(r.calls).toHaveLength(1);
  });
});

describe('unsupported platform', () => {
  it('says so and refuses to show', async () => {
    const n = await createNotifier({}, 'aix');
    expect(n.method).toBe('none');
    await expect(n.availability()).resolves.toEqual({
      available: false,
      reason: 'no idle-lock warning notice on aix',
    });
    await expect(n.show(60)).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
  });
});
