import type { CapabilityStatus } from '../core/contracts.ts';
import type { WindowReading, WindowSource } from './window.ts';

export class UnsupportedWindowSource implements WindowSource {
  private readonly platform: string;
  constructor(platform: string) {
    this.platform = platform;
  }
  async probe(): Promise<CapabilityStatus> {
    return { name: 'active_window', available: false, reason: `not supported on ${this.platform}` };
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async read(): Promise<WindowReading> {
    return { kind: 'unknown' };
  }
}
