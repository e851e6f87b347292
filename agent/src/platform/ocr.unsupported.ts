// On-screen text on platforms without an OCR source yet (see ocr.ts).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { CapabilityStatus } from '../core/contracts.ts';
import type { GrayImage } from './gray-image.ts';
import type { FocusedWindow, OcrResult, ScreenTextSource } from './ocr.ts';

export class UnsupportedScreenTextSource implements ScreenTextSource {
  private readonly platform: string;
  constructor(platform: string) {
    this.platform = platform;
  }
  async probe(): Promise<CapabilityStatus> {
    return { name: 'screen_text', available: false, reason: `not implemented on ${this.platform}` };
  }
  async focusedWindow(): Promise<FocusedWindow | undefined> {
    return undefined;
  }
  async windowImage(): Promise<GrayImage> {
    throw new CustodianError(ErrorCode.UNAVAILABLE, `window images are not implemented on ${this.platform}`);
  }
  async read(): Promise<OcrResult> {
    throw new CustodianError(ErrorCode.UNAVAILABLE, `OCR is not implemented on ${this.platform}`);
  }
}
