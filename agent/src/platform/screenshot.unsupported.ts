// Platforms screenshot-desktop does not support: an honest "unavailable", never a throw at start.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { CapabilityStatus } from '../core/contracts.ts';
import type { ScreenshotSource } from './screenshot.ts';

export class UnsupportedScreenshotSource implements ScreenshotSource {
  private readonly platform: string;

  constructor(platform: string) {
    this.platform = platform;
  }

  async probe(): Promise<CapabilityStatus> {
    return { name: 'screenshot', available: false, reason: `not supported on ${this.platform}` };
  }

  async capture(): Promise<Uint8Array> {
    throw new CustodianError(ErrorCode.UNAVAILABLE, `screenshots are not supported on ${this.platform}`);
  }
}
