// On-screen text of the active window behind one interface (STYLE.md §1); the implementation is
// chosen here, once, by platform. Both steps run in short-lived children: the window image (as
// the session's user) and the OCR itself (lowest CPU priority, one thread). Nothing resident.
import type { CapabilityStatus } from '../core/contracts.ts';
import type { GrayImage } from './gray-image.ts';

/** The focused window and the part of the screen it covers. */
export interface FocusedWindow {
  /** Identifies the window (focus changes are told apart by it). */
  windowId: string;
  crop: { x: number; y: number; width: number; height: number };
}

export interface OcrResult {
  text: string;
  /** Wall-clock time of the single-threaded OCR child: an upper bound on its CPU time. */
  ms: number;
}

export interface ScreenTextSource {
  /** The `screen_text` capability, with the reason when unavailable. */
  probe(): Promise<CapabilityStatus>;
  /** The focused window and its on-screen geometry; undefined when none (or none on screen). */
  focusedWindow(): Promise<FocusedWindow | undefined>;
  /** That window's image, grayscale: a crop of a screenshot to its geometry. Attacker-controlled pixels: only for OCR. */
  windowImage(w: FocusedWindow): Promise<GrayImage>;
  /** The text OCR reads in an image (the whole window, or its new rows stacked: gray-image.ts). */
  read(image: GrayImage): Promise<OcrResult>;
}

/**
 * Windows and macOS: tesseract.js 7 with @tesseract.js-data/eng (no network at run time), spawned
 * on demand and never resident (platform-notes, Nov 2026); not wired yet: unavailable there.
 */
export async function createScreenTextSource(): Promise<ScreenTextSource> {
  switch (process.platform) {
    case 'linux':
      return new (await import('./ocr.linux.ts')).X11ScreenTextSource();
    default:
      return new (await import('./ocr.unsupported.ts')).UnsupportedScreenTextSource(process.platform);
  }
}
