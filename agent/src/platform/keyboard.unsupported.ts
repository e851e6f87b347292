// Typed text on platforms without a keyboard source yet (see keyboard.ts).
import type { CapabilityStatus } from '../core/contracts.ts';
import type { KeyboardLayout, KeyboardSource } from './keyboard.ts';

export class UnsupportedKeyboardSource implements KeyboardSource {
  private readonly platform: string;
  constructor(platform: string) {
    this.platform = platform;
  }
  async probe(): Promise<CapabilityStatus> {
    return { name: 'typed_text', available: false, reason: `not implemented on ${this.platform}` };
  }
  async layout(): Promise<KeyboardLayout> {
    return { name: '', map: new Map() };
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
