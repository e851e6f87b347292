// Parsers for the active-window crop (pure, tested on captured output).

export interface WindowGeometry {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Geometry from `xwininfo -id W` (absolute position, size); undefined when incomplete. */
export function parseXwininfo(text: string): WindowGeometry | undefined {
  const num = (label: string) => {
    const m = new RegExp(`^\\s*${label}:\\s*(-?\\d+)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const x = num('Absolute upper-left X');
  const y = num('Absolute upper-left Y');
  const width = num('Width');
  const height = num('Height');
  if (x === undefined || y === undefined || width === undefined || height === undefined) return undefined;
  return { x, y, width, height };
}

/** The part of the window that is on a screen of this size, or undefined when none is (pure). */
export function clipToScreen(
  g: WindowGeometry,
  screen: { width: number; height: number },
): WindowGeometry | undefined {
  const x = Math.max(0, g.x);
  const y = Math.max(0, g.y);
  const right = Math.min(screen.width, g.x + g.width);
  const bottom = Math.min(screen.height, g.y + g.height);
  if (right - x < 8 || bottom - y < 8) return undefined;
  return { x, y, width: right - x, height: bottom - y };
}

/** Size of the root window from `xwininfo -root` (pure). */
export function parseRootSize(text: string): { width: number; height: number } | undefined {
  const g = parseXwininfo(text);
  return g ? { width: g.width, height: g.height } : undefined;
}

/** The bytes of an ImageMagick `inline:` data URI (data:image/png;base64,...); undefined if not one. */
export function decodeInlinePng(text: string): Uint8Array | undefined {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=\s]+)$/.exec(text.trim());
  return m ? new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')) : undefined;
}
