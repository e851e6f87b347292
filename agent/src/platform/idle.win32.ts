// Idle time on Windows: GetLastInputInfo, which only sees input of the session that calls it.
// A SYSTEM service lives in session 0 and would always read "no input", so this must run in the
// per-user helper (a Scheduled Task "At log on" running the agent's user-session helper). The
// helper reuses one PowerShell process (IDLE_HELPER_LOOP_SCRIPT) instead of one per sample.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run as realRun } from './exec.ts';
import type { ExecRunner, IdleProbe, IdleProbeOptions } from './idle.ts';

/** C# P/Invoke compiled by Add-Type; unchecked uint arithmetic survives the 49.7-day TickCount wrap. */
const ADD_TYPE = `Add-Type -Namespace Custodian -Name Idle -MemberDefinition @'
[StructLayout(LayoutKind.Sequential)] public struct LASTINPUTINFO { public uint cbSize; public uint dwTime; }
[DllImport("user32.dll", SetLastError = true)] public static extern bool GetLastInputInfo(ref LASTINPUTINFO plii);
public static string Sample() {
  var i = new LASTINPUTINFO(); i.cbSize = (uint)Marshal.SizeOf(i);
  if (!GetLastInputInfo(ref i)) return "error=" + Marshal.GetLastWin32Error();
  return "idle_ms=" + unchecked((uint)System.Environment.TickCount - i.dwTime);
}
'@`;

const SAMPLE = `"$([Custodian.Idle]::Sample()) session=$([System.Diagnostics.Process]::GetCurrentProcess().SessionId)"`;

/** One sample: prints "idle_ms=N session=S" (or "error=CODE session=S"). */
export const IDLE_ONCE_SCRIPT = `${ADD_TYPE}\n${SAMPLE}`;

/** The user-session helper's loop: one line per interval until stdin closes or the process is killed. */
export function idleHelperLoopScript(intervalMs: number): string {
  if (!Number.isInteger(intervalMs) || intervalMs < 100)
    throw new RangeError('intervalMs must be an integer >= 100');
  return `${ADD_TYPE}\nwhile ($true) { ${SAMPLE}; [Console]::Out.Flush(); Start-Sleep -Milliseconds ${intervalMs} }`;
}

export function powershellArgs(script: string): string[] {
  return ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', script];
}

/** Parses the last sample line. Session 0 is the services session: its "idle" means nothing. */
export function parseWin32IdleSample(stdout: string): number {
  const lines = stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.at(-1) ?? '';
  const m = /^(idle_ms|error)=(\d+) session=(\d+)$/.exec(last);
  if (!m) {
    throw new CustodianError(
      ErrorCode.COMMAND_FAILED,
      `GetLastInputInfo helper: unexpected output ${JSON.stringify(last.slice(0, 80))}`,
    );
  }
  if (m[3] === '0') {
    throw new CustodianError(
      ErrorCode.UNAVAILABLE,
      'running in session 0 (a service): GetLastInputInfo cannot see user input; the per-user helper must measure idle time',
    );
  }
  if (m[1] === 'error')
    throw new CustodianError(ErrorCode.COMMAND_FAILED, `GetLastInputInfo failed: Win32 error ${m[2]}`);
  return Number(m[2]);
}

export function createWin32IdleProbe(options: IdleProbeOptions = {}): IdleProbe {
  const run: ExecRunner = options.run ?? realRun;
  const env = options.env ?? process.env;
  const p: IdleProbe = {
    method: 'GetLastInputInfo',
    async idleMs() {
      // First Add-Type compiles C#: allow for a slow, cold PowerShell start.
      const { stdout } = await run('powershell.exe', powershellArgs(IDLE_ONCE_SCRIPT), {
        env,
        timeoutMs: 15_000,
      });
      return parseWin32IdleSample(stdout);
    },
    async availability() {
      try {
        await p.idleMs();
        return { available: true, reason: 'measured with GetLastInputInfo in the user session' };
      } catch (err) {
        return { available: false, reason: (err as Error).message };
      }
    },
  };
  return p;
}
