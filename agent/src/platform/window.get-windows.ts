// Windows and macOS read the active window through get-windows (a native addon on Windows,
// a bundled Swift helper on macOS). Each read is bounded by a timeout.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AgentLogger } from '../core/contracts.ts';
import type { WindowReading } from './window.ts';

export interface GetWindowsResult {
  title: string;
  url?: string;
  owner: { name: string; processId: number };
}

/** Maps a get-windows result to our reading (pure). */
export function fromGetWindows(result: GetWindowsResult | undefined): WindowReading {
  if (!result) return { kind: 'none' };
  return {
    kind: 'window',
    window: {
      app: result.owner.name ?? '',
      title: result.title ?? '',
      url: result.url ?? '',
      pid: Number.isSafeInteger(result.owner.processId) ? result.owner.processId : 0,
    },
  };
}

export async function readWithGetWindows(log: AgentLogger, timeoutMs = 3_000): Promise<WindowReading> {
  const { activeWindow } = await import('get-windows');
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      activeWindow({ accessibilityPermission: true, screenRecordingPermission: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CustodianError(ErrorCode.COMMAND_TIMEOUT, 'get-windows did not answer in time')),
          timeoutMs,
        );
      }),
    ]);
    return fromGetWindows(result as GetWindowsResult | undefined);
  } catch (err) {
    log.debug('reading the active window failed', { err });
    return { kind: 'unknown' };
  } finally {
    clearTimeout(timer);
  }
}
