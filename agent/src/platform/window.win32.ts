// Windows: get-windows' addon sees only the desktop of the session it runs in; a service in
// session 0 (SYSTEM) sees nothing, so the window monitor must run in the user's session
// (the per-user helper described in platform-notes §2). [Not run on Windows yet.]
import { userInfo } from 'node:os';
import type { AgentLogger } from '../core/contracts.ts';
import { GetWindowsSource } from './window.get-windows.ts';

export function win32WindowProblem(user: string, sessionName: string | undefined): string | undefined {
  if (user.toUpperCase() === 'SYSTEM' || sessionName?.toLowerCase() === 'services')
    return 'running as a service in session 0 (needs the per-user helper in the desktop session)';
  return undefined;
}

export class Win32WindowSource extends GetWindowsSource {
  constructor(log: AgentLogger) {
    super(log, () => win32WindowProblem(userInfo().username, process.env['SESSIONNAME']));
  }
}
