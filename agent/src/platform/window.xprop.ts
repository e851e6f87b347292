// Pure parsers for xprop output (tested on captured output in testdata/window/). xprop runs
// with LC_ALL=C.UTF-8, so strings arrive as raw UTF-8 and embedded quotes are NOT escaped:
// a string value is everything between the first and the last double quote of the line.
// (get-windows stops at the first inner quote, so a title like `notes" kms` would lose its
// end — an easy way to hide words from the keyword matcher.)

export type XpropLine =
  | { prop: string; found: false }
  | { prop: string; found: true; type: string; raw: string };

const VALUE = /^([A-Za-z0-9_]+)\(([A-Za-z0-9_]+)\)(?: = |: )(.*)$/;
const NOT_FOUND = /^([A-Za-z0-9_]+):\s+not found\.$/;

export function parseXpropLine(line: string): XpropLine | undefined {
  const nf = NOT_FOUND.exec(line);
  if (nf) return { prop: nf[1]!, found: false };
  const m = VALUE.exec(line);
  if (!m) return undefined;
  return { prop: m[1]!, found: true, type: m[2]!, raw: m[3]! };
}

/** `window id # 0x20000c` → "0x20000c"; 0x0 and anything unexpected → undefined. */
export function parseWindowId(raw: string): string | undefined {
  const m = /window id # (0x[0-9a-f]+)/i.exec(raw);
  if (!m || /^0x0+$/i.test(m[1]!)) return undefined;
  return m[1]!.toLowerCase();
}

export function parseString(raw: string): string {
  const first = raw.indexOf('"');
  const last = raw.lastIndexOf('"');
  if (first < 0 || last <= first) return '';
  return raw.slice(first + 1, last);
}

/** WM_CLASS is `"instance", "Class"`; the class names the app. */
export function parseWmClass(raw: string): string {
  const m = /^"(.*)", "(.*)"$/.exec(raw.trim());
  return m ? m[2]! : parseString(raw);
}

export interface XWindowProps {
  pid?: number;
  netWmName?: string;
  wmName?: string;
  wmClass?: string;
}

/** Folds one line of `xprop -id W [-spy] _NET_WM_PID _NET_WM_NAME WM_NAME WM_CLASS` into props. */
export function applyWindowLine(props: XWindowProps, line: XpropLine): XWindowProps {
  const next = { ...props };
  switch (line.prop) {
    case '_NET_WM_PID': {
      const pid = line.found ? Number.parseInt(line.raw, 10) : Number.NaN;
      if (Number.isSafeInteger(pid) && pid > 0) next.pid = pid;
      else delete next.pid;
      break;
    }
    case '_NET_WM_NAME':
      if (line.found) next.netWmName = parseString(line.raw);
      else delete next.netWmName;
      break;
    case 'WM_NAME':
      if (line.found) next.wmName = parseString(line.raw);
      else delete next.wmName;
      break;
    case 'WM_CLASS':
      if (line.found) next.wmClass = parseWmClass(line.raw);
      else delete next.wmClass;
      break;
  }
  return next;
}

/** The X11 capability from the session environment alone (pure); undefined = worth probing X. */
export function x11EnvironmentProblem(env: NodeJS.ProcessEnv): string | undefined {
  const wayland = env['WAYLAND_DISPLAY'] || env['XDG_SESSION_TYPE'] === 'wayland';
  if (wayland) return 'Wayland session (window titles are not visible to other programs)';
  if (!env['DISPLAY']) return 'no X display';
  return undefined;
}
