// On-screen text on platforms without an OCR source yet (see ocr.ts).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { CapabilityStatus } from '../core/contracts.ts';
import type { OcrResult, ScreenTextSource, WindowImage } from './ocr.ts';

export class UnsupportedScreenTextSource implements ScreenTextSource {
  private readonly platform: string;
  constructor(platform: string) {
    this.platform = platform;
  }
  async probe(): Promise<CapabilityStatus> {
    return { name: 'screen_text', available: false, reason: `not implemented on ${this.platform}` };
  }
  async activeWindowImage(): Promise<WindowImage | undefined> {
    return undefined;
  }
  async read(): Promise<OcrResult> {
    throw new CustodianError(ErrorCode.UNAVAILABLE, `OCR is not implemented on ${this.platform}`);
  }
}
