// The active-window crop: the part of a window that is on the screen (pure). The geometry itself
// comes from the X server (x11-wire.ts), not from xwininfo.

export interface WindowGeometry {
  x: number;
  y: number;
  width: number;
  height: number;
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
