// Typed text on platforms without a keyboard source yet (see keyboard.ts).
import type { CapabilityStatus } from '../core/contracts.ts';
import type { KeyboardLayout, KeyboardSource } from './keyboard.ts';
import { EMPTY_KEYMAP } from './keymap.xkb.ts';

export class UnsupportedKeyboardSource implements KeyboardSource {
  private readonly platform: string;
  constructor(platform: string) {
    this.platform = platform;
  }
  async probe(): Promise<CapabilityStatus> {
    return { name: 'typed_text', available: false, reason: `not implemented on ${this.platform}` };
  }
  async layout(): Promise<KeyboardLayout> {
    return { name: '', id: '', map: EMPTY_KEYMAP, capsLock: false, numLock: false };
  }
  async layoutId(): Promise<string> {
    return '';
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
