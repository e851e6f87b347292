// Grayscale window images for on-screen text (pure, tested): the binary PGM (P5) that ImageMagick
// `import ... pgm:-` writes and tesseract reads on stdin, a hash per pixel row (what changed since
// the window was last looked at, screen-scan.ts), and the changed rows stacked into one smaller
// image so OCR reads only them. The pixels are attacker-drawn: parsing is length-checked only.

export interface GrayImage {
  width: number;
  height: number;
  /** width × height bytes, rows top to bottom, 0 = black. */
  pixels: Uint8Array;
}

/** Larger than any screen (16k × 16k): a header claiming more is refused. */
const MAX_SIDE = 16_384;

/** A binary 8-bit PGM (P5, maxval ≤ 255) → the image; undefined when it is not one or is short. */
export function parsePgm(buf: Uint8Array): GrayImage | undefined {
  // Header: "P5", whitespace, width, height, maxval (comments allowed), ONE whitespace, then data.
  const head = Buffer.from(buf.subarray(0, Math.min(buf.length, 512))).toString('latin1');
  const m = /^P5(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)\s/.exec(head);
  if (!m) return undefined;
  const width = Number(m[1]);
  const height = Number(m[2]);
  const maxval = Number(m[3]);
  if (!(width > 0 && height > 0 && width <= MAX_SIDE && height <= MAX_SIDE)) return undefined;
  if (!(maxval > 0 && maxval <= 255)) return undefined;
  const start = m[0].length;
  if (buf.length < start + width * height) return undefined;
  return { width, height, pixels: new Uint8Array(buf.subarray(start, start + width * height)) };
}

export function encodePgm(img: GrayImage): Uint8Array {
  const head = Buffer.from(`P5\n${img.width} ${img.height}\n255\n`, 'latin1');
  const out = new Uint8Array(head.length + img.pixels.length);
  out.set(head, 0);
  out.set(img.pixels, head.length);
  return out;
}

/** A 32-bit FNV-1a hash of every pixel row (the row's width folded in). */
export function rowHashes(img: GrayImage): Uint32Array {
  const out = new Uint32Array(img.height);
  const { width, pixels } = img;
  for (let y = 0; y < img.height; y++) {
    let h = Math.imul(0x811c9dc5 ^ width, 0x01000193);
    const end = (y + 1) * width;
    for (let i = y * width; i < end; i++) h = Math.imul(h ^ (pixels[i] as number), 0x01000193);
    out[y] = h >>> 0;
  }
  return out;
}

/** Rows [top, bottom) of an image. */
export type RowBand = readonly [top: number, bottom: number];

/** Blank rows put between two bands so OCR sees them as separate blocks of text. */
export const BAND_GAP_ROWS = 12;

/** The most common value of a row (its background, for the gap that follows it). */
function background(img: GrayImage, y: number): number {
  const counts = new Uint32Array(256);
  const row = img.pixels.subarray(y * img.width, (y + 1) * img.width);
  for (const v of row) counts[v] = (counts[v] as number) + 1;
  let best = 0;
  for (let v = 1; v < 256; v++) if ((counts[v] as number) > (counts[best] as number)) best = v;
  return best;
}

/** The bands (sorted, not overlapping, inside the image) one under another, a blank gap between. */
export function stackBands(img: GrayImage, bands: readonly RowBand[]): GrayImage {
  const rows = bands.reduce((n, [t, b]) => n + (b - t), 0) + BAND_GAP_ROWS * Math.max(0, bands.length - 1);
  const pixels = new Uint8Array(rows * img.width);
  let at = 0;
  bands.forEach(([top, bottom], i) => {
    if (i > 0) {
      pixels.fill(background(img, top), at, at + BAND_GAP_ROWS * img.width);
      at += BAND_GAP_ROWS * img.width;
    }
    pixels.set(img.pixels.subarray(top * img.width, bottom * img.width), at);
    at += (bottom - top) * img.width;
  });
  return { width: img.width, height: rows, pixels };
}
