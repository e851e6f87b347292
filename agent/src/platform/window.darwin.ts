// macOS: get-windows' Swift helper needs the GUI session (a LaunchAgent, not the root
// LaunchDaemon) and the Screen Recording permission for titles. [Not run on macOS yet.]
import { userInfo } from 'node:os';
import type { AgentLogger, CapabilityStatus } from '../core/contracts.ts';
import { readWithGetWindows } from './window.get-windows.ts';
import type { WindowReading, WindowSource } from './window.ts';

export function darwinWindowProblem(uid: number): string | undefined {
  if (uid === 0) return 'running as root outside the GUI session (needs the per-user LaunchAgent)';
  return undefined;
}

export class DarwinWindowSource implements WindowSource {
  private readonly log: AgentLogger;
  constructor(log: AgentLogger) {
    this.log = log;
  }
  async probe(): Promise<CapabilityStatus> {
    const problem = darwinWindowProblem(userInfo().uid);
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
