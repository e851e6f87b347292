// Active-window reading behind one interface (STYLE.md §1); the implementation is chosen here,
// once, by platform. Feature code (monitors/window-monitor.ts) never checks process.platform.
import type { ActiveWindowInfo, AgentLogger, CapabilityStatus } from '../core/contracts.ts';

export type WindowReading =
  | { kind: 'window'; window: ActiveWindowInfo }
  /** No window has focus (empty desktop). */
  | { kind: 'none' }
  /** Not known right now (starting, between windows, source down): emit nothing. */
  | { kind: 'unknown' };

export interface WindowSource {
  /** The active_window capability on this device, with the reason when unavailable. */
  probe(): Promise<CapabilityStatus>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The active window now. Cheap: called at every policy sample. */
  read(): Promise<WindowReading>;
  /**
   * Trouble the source recovered from (a crashed reader restarted), for the capability report;
   * undefined when there was none. Cheap: called at every sample.
   */
  health?(): string | undefined;
}

export async function createWindowSource(log: AgentLogger): Promise<WindowSource> {
  switch (process.platform) {
    case 'linux':
      return new (await import('./window.linux.ts')).X11WindowSource(log);
    case 'win32':
      return new (await import('./window.win32.ts')).Win32WindowSource(log);
    case 'darwin':
      return new (await import('./window.darwin.ts')).DarwinWindowSource(log);
    default:
      return new (await import('./window.unsupported.ts')).UnsupportedWindowSource(process.platform);
  }
}
