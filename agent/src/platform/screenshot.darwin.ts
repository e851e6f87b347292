// macOS screenshots: screenshot-desktop runs `screencapture` in a child process. It needs the
// Screen Recording permission, which cannot be read without a native helper: the probe says so,
// and a capture without the permission fails with its reason on the event.
import type { CapabilityStatus } from '../core/contracts.ts';
import { ChildProcessScreenshotSource } from './screenshot-process.ts';

export class DarwinScreenshotSource extends ChildProcessScreenshotSource {
  async probe(): Promise<CapabilityStatus> {
    return {
      name: 'screenshot',
      available: true,
      reason: 'needs the Screen Recording permission (not checked)',
    };
  }
}
