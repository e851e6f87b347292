// Screen lock on Windows. LockWorkStation is "callable only by processes running on the
// interactive desktop", so the SYSTEM service cannot call it: the per-user helper (Scheduled
// Task "At log on") runs `rundll32.exe user32.dll,LockWorkStation`. rundll32 exits 0 even when
// the call fails, and Windows has no API for "is the workstation locked", so the result is
// checked with the usual heuristic: LogonUI.exe runs in the user's session while it is locked.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import type { ScreenLocker, ScreenLockerOptions } from './lock.ts';

export const LOCK_WORKSTATION: readonly [string, readonly string[]] = [
  'rundll32.exe',
  ['user32.dll,LockWorkStation'],
];
export const TASKLIST_LOGONUI: readonly [string, readonly string[]] = [
  'tasklist.exe',
  ['/FI', 'IMAGENAME eq LogonUI.exe', '/FO', 'CSV', '/NH'],
];

/**
 * `tasklist /FI "IMAGENAME eq LogonUI.exe" /FO CSV /NH`: a CSV row per process
 * ("LogonUI.exe","1234","Console","1","41,232 K") or an INFO line when none runs.
 * Locked when LogonUI runs in the given session (the console session when not given).
 */
export function parseTasklistLogonUi(stdout: string, sessionId?: number): boolean {
  const lines = stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  let sawInfo = false;
  for (const line of lines) {
    if (/^INFO:/i.test(line)) {
      sawInfo = true;
      continue;
    }
    const cells = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
    if (cells.length < 4 || cells[0]?.toLowerCase() !== 'logonui.exe') {
      throw new CustodianError(
        ErrorCode.COMMAND_FAILED,
        `tasklist: unexpected row ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
    if (sessionId === undefined || Number(cells[3]) === sessionId) return true;
  }
  if (!sawInfo && lines.length === 0)
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'tasklist: empty output');
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function createWin32ScreenLocker(options: ScreenLockerOptions = {}): ScreenLocker {
  const run: ExecRunner = options.run ?? realRun;
  const env = options.env ?? process.env;
  const verifyMs = options.verifyMs ?? 3_000;
  async function isLocked(): Promise<boolean> {
    const { stdout } = await run(TASKLIST_LOGONUI[0], TASKLIST_LOGONUI[1], { env, timeoutMs: 5_000 });
    return parseTasklistLogonUi(stdout);
  }
  return {
    methods: ['LockWorkStation'],
    async availability() {
      // Session 0 (services) has no interactive desktop; SESSIONNAME is "Console"/"RDP-Tcp#N" in a user session.
      const sessionName = env['SESSIONNAME'] ?? '';
      if (!sessionName || sessionName.toLowerCase() === 'services') {
        return { available: false, reason: 'not in an interactive session: the per-user helper must lock' };
      }
      return { available: true, reason: 'locks with LockWorkStation from the user session' };
    },
    async lock() {
      try {
        await run(LOCK_WORKSTATION[0], LOCK_WORKSTATION[1], { env, timeoutMs: 5_000 });
      } catch (err) {
        throw new CustodianError(ErrorCode.COMMAND_FAILED, `LockWorkStation: ${(err as Error).message}`, {
          cause: err,
          details: { method: 'LockWorkStation' },
        });
      }
      const deadline = Date.now() + verifyMs;
      while (Date.now() < deadline) {
        if (await isLocked()) return 'LockWorkStation';
        await sleep(200);
      }
      throw new CustodianError(
        ErrorCode.COMMAND_FAILED,
        `LockWorkStation: LogonUI did not start within ${verifyMs} ms`,
        {
          details: { method: 'LockWorkStation' },
        },
      );
    },
    isLocked,
  };
}
