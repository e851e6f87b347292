// Screen lock on macOS. `CGSession -suspend` is gone since Big Sur; what remains without native
// code is `pmset displaysleepnow`, which locks only when "require password immediately" is on
// (checked first with `sysadminctl -screenLock status`). Lock state comes from the console
// user's CGSSessionScreenIsLocked in `ioreg -n Root -d1`. Both must run in the user's GUI
// session (a LaunchAgent), not from the root daemon.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import type { ScreenLocker, ScreenLockerOptions } from './lock.ts';

export const SCREENLOCK_STATUS: readonly [string, readonly string[]] = [
  'sysadminctl',
  ['-screenLock', 'status'],
];
export const DISPLAY_SLEEP_NOW: readonly [string, readonly string[]] = ['pmset', ['displaysleepnow']];
export const IOREG_ROOT: readonly [string, readonly string[]] = ['ioreg', ['-n', 'Root', '-d1']];

/**
 * sysadminctl logs to stderr: "... screenLock delay is immediate" / "screenLock delay is 300 seconds"
 * / "screenLock is off". Returns the delay in seconds, or null when the lock is off.
 */
export function parseScreenLockStatus(output: string): number | null {
  if (/screenLock is off/i.test(output)) return null;
  if (/screenLock delay is immediate/i.test(output)) return 0;
  const m = /screenLock delay is (\d+) seconds?/i.exec(output);
  if (m) return Number(m[1]);
  throw new CustodianError(ErrorCode.COMMAND_FAILED, 'sysadminctl: unexpected screenLock status output');
}

/** True when the console session's IOConsoleUsers entry says CGSSessionScreenIsLocked=Yes. */
export function parseIoregScreenLocked(stdout: string): boolean {
  const line = stdout.split('\n').find((l) => l.includes('"IOConsoleUsers"'));
  if (!line)
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'ioreg: no IOConsoleUsers (no console session)');
  const sessions = line.split('},{');
  const console_ = sessions.find((s) => /"kCGSSessionOnConsoleKey"=Yes/.test(s));
  if (!console_) return false;
  return /"CGSSessionScreenIsLocked"=Yes/.test(console_);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function createDarwinScreenLocker(options: ScreenLockerOptions = {}): ScreenLocker {
  const run: ExecRunner = options.run ?? realRun;
  const env = options.env ?? process.env;
  const verifyMs = options.verifyMs ?? 3_000;
  async function isLocked(): Promise<boolean> {
    const { stdout } = await run(IOREG_ROOT[0], IOREG_ROOT[1], { env, timeoutMs: 3_000 });
    return parseIoregScreenLocked(stdout);
  }
  async function screenLockDelay(): Promise<number | null> {
    const r = await run(SCREENLOCK_STATUS[0], SCREENLOCK_STATUS[1], { env, timeoutMs: 5_000 });
    return parseScreenLockStatus(`${r.stdout}\n${r.stderr}`);
  }
  const method = 'pmset-displaysleepnow';
  return {
    methods: [method],
    async availability() {
      try {
        const delay = await screenLockDelay();
        if (delay === 0)
          return { available: true, reason: 'locks by sleeping the display (password required immediately)' };
        return {
          available: false,
          reason:
            delay === null
              ? 'the screen lock is off (sysadminctl -screenLock immediate turns it on)'
              : `the screen lock waits ${delay} s after display sleep, so sleeping the display does not lock`,
        };
      } catch (err) {
        return { available: false, reason: (err as Error).message };
      }
    },
    async lock() {
      const fail = (why: string, cause?: unknown): CustodianError =>
        new CustodianError(ErrorCode.COMMAND_FAILED, why, { cause, details: { method } });
      let delay: number | null;
      try {
        delay = await screenLockDelay();
      } catch (err) {
        throw fail(`cannot read the screen lock setting: ${(err as Error).message}`, err);
      }
      if (delay !== 0)
        throw fail(
          delay === null ? 'the screen lock is off' : `the screen lock waits ${delay} s after display sleep`,
        );
      try {
        await run(DISPLAY_SLEEP_NOW[0], DISPLAY_SLEEP_NOW[1], { env, timeoutMs: 5_000 });
      } catch (err) {
        throw fail(`pmset displaysleepnow: ${(err as Error).message}`, err);
      }
      const deadline = Date.now() + verifyMs;
      while (Date.now() < deadline) {
        if (await isLocked()) return method;
        await sleep(200);
      }
      throw fail(`the display slept but the session did not report locked within ${verifyMs} ms`);
    },
    isLocked,
  };
}
