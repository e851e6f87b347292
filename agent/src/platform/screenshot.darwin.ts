// macOS screenshots: screenshot-desktop runs `screencapture` in a child process. It needs the
// Screen Recording permission, which cannot be read without a native helper: the probe says so,
// and a capture without the permission fails with its reason on the event.
import type { CapabilityStatus } from '../core/contracts.ts';
import type { ScreenshotSource } from './screenshot.ts';
import { captureInChild } from './screenshot-process.ts';

export class DarwinScreenshotSource implements ScreenshotSource {
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;

  constructor(env: NodeJS.ProcessEnv, timeoutMs: number) {
    this.env = env;
    this.timeoutMs = timeoutMs;
  }

  async probe(): Promise<CapabilityStatus> {
    return {
      name: 'screenshot',
      available: true,
      reason: 'needs the Screen Recording permission (not checked)',
    };
  }

  capture(): Promise<Uint8Array> {
    return captureInChild(this.env, this.timeoutMs);
  }
}
