// Screenshots behind one interface (STYLE.md §1); the implementation is chosen here, once, by
// platform. Capture code (agent/src/capture/) never checks process.platform.
// Every implementation takes the picture in a CHILD process (screenshot-child.ts): screenshot-desktop
// can kill the process it runs in (platform-notes §0.2), and PNG encoding is heavy work that must
// stay off the agent's event loop.
import type { CapabilityStatus } from '../core/contracts.ts';
import { sessionEnv } from './session.ts';

export interface ScreenshotSource {
  /** The `screenshot` capability on this device, with the reason when unavailable. */
  probe(): Promise<CapabilityStatus>;
  /** One PNG of the screen. Throws CustodianError (UNAVAILABLE, COMMAND_FAILED, COMMAND_TIMEOUT). */
  capture(): Promise<Uint8Array>;
}

export interface ScreenshotOptions {
  /**
   * Environment of the user's session (DISPLAY, WAYLAND_DISPLAY, ...). Default: the graphical
   * session's environment at each probe/capture (session.ts; process.env when the agent has a display).
   */
  env?: NodeJS.ProcessEnv;
  /** Hard limit for one capture, child process included. Default 15 s. */
  timeoutMs?: number;
}

export async function createScreenshotSource(options: ScreenshotOptions = {}): Promise<ScreenshotSource> {
  const env = options.env ?? sessionEnv;
  const timeoutMs = options.timeoutMs ?? 15_000;
  switch (process.platform) {
    case 'linux':
      return new (await import('./screenshot.linux.ts')).X11ScreenshotSource(env, timeoutMs);
    case 'win32':
      return new (await import('./screenshot.win32.ts')).Win32ScreenshotSource(env, timeoutMs);
    case 'darwin':
      return new (await import('./screenshot.darwin.ts')).DarwinScreenshotSource(env, timeoutMs);
    default:
      return new (await import('./screenshot.unsupported.ts')).UnsupportedScreenshotSource(process.platform);
  }
}
