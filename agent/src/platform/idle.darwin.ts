// Idle time on macOS: IOHIDSystem's HIDIdleTime (nanoseconds since the last input). Readable
// from root without a GUI session, unlike locking.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run as realRun } from './exec.ts';
import type { ExecRunner, IdleProbe, IdleProbeOptions } from './idle.ts';

export const IOREG_IDLE_ARGS = ['-c', 'IOHIDSystem', '-d', '4', '-r', '-k', 'HIDIdleTime'] as const;

/** First `"HIDIdleTime" = N` (ns) in `ioreg` output, as ms. */
export function parseHidIdleTime(stdout: string): number {
  const m = /"HIDIdleTime"\s*=\s*(\d+)/.exec(stdout);
  if (!m)
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'ioreg: no HIDIdleTime in the IOHIDSystem output');
  return Math.floor(Number(m[1]) / 1_000_000);
}

export function createDarwinIdleProbe(options: IdleProbeOptions = {}): IdleProbe {
  const run: ExecRunner = options.run ?? realRun;
  const p: IdleProbe = {
    method: 'ioreg-hididletime',
    async idleMs() {
      const { stdout } = await run('ioreg', IOREG_IDLE_ARGS, { env: options.env, timeoutMs: 3_000 });
      return parseHidIdleTime(stdout);
    },
    async availability() {
      try {
        await p.idleMs();
        return { available: true, reason: 'measured with ioreg HIDIdleTime' };
      } catch (err) {
        return { available: false, reason: (err as Error).message };
      }
    },
  };
  return p;
}
