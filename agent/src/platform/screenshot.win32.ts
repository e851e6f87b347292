// Windows screenshots: screenshot-desktop compiles and runs a small .NET helper (csc.exe from
// the .NET Framework) on first use, in a child process. Not verified on Windows in this project
// yet: the probe says available, and a failed capture reports its reason on the event.
import { isSea } from 'node:sea';
import type { CapabilityStatus } from '../core/contracts.ts';
import { ChildProcessScreenshotSource } from './screenshot-process.ts';

export class Win32ScreenshotSource extends ChildProcessScreenshotSource {
  async probe(): Promise<CapabilityStatus> {
    if (isSea())
      return {
        name: 'screenshot',
        available: false,
        reason:
          "screenshot-desktop's Windows helper (a .bat beside its files) is not part of the single executable",
      };
    // A service in session 0 sees no user desktop (platform-notes §2): the per-user helper must take it.
    if (this.env['SESSIONNAME'] === undefined && this.env['USERNAME']?.endsWith('$'))
      return {
        name: 'screenshot',
        available: false,
        reason: 'running as a service in session 0 (no user desktop)',
      };
    return { name: 'screenshot', available: true, reason: '' };
  }
}
