// macOS: get-windows' Swift helper needs the GUI session (a LaunchAgent, not the root
// LaunchDaemon) and the Screen Recording permission for titles. [Not run on macOS yet.]
import { userInfo } from 'node:os';
import type { AgentLogger } from '../core/contracts.ts';
import { GetWindowsSource } from './window.get-windows.ts';

export function darwinWindowProblem(uid: number): string | undefined {
  if (uid === 0) return 'running as root outside the GUI session (needs the per-user LaunchAgent)';
  return undefined;
}

export class DarwinWindowSource extends GetWindowsSource {
  constructor(log: AgentLogger) {
    super(log, () => darwinWindowProblem(userInfo().uid));
  }
}
