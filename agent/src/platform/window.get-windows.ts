// Windows and macOS read the active window through get-windows (a native addon on Windows,
// a bundled Swift helper on macOS). Each read is bounded by a timeout.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AgentLogger, CapabilityStatus } from '../core/contracts.ts';
import type { WindowReading, WindowSource } from './window.ts';

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

/**
 * The source both get-windows platforms use; each passes its own check of whether this process
 * can see the user's desktop at all (undefined = it can).
 */
export class GetWindowsSource implements WindowSource {
  private readonly log: AgentLogger;
  private readonly desktopProblem: () => string | undefined;
  constructor(log: AgentLogger, desktopProblem: () => string | undefined) {
    this.log = log;
    this.desktopProblem = desktopProblem;
  }
  async probe(): Promise<CapabilityStatus> {
    const problem = this.desktopProblem();
    return problem
      ? { name: 'active_window', available: false, reason: problem }
      : { name: 'active_window', available: true, reason: '' };
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  read(): Promise<WindowReading> {
    return readWithGetWindows(this.log);
  }
}
