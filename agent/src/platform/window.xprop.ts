// Pure parsers for xprop output (tested on captured output in testdata/window/). xprop runs
// with LC_ALL=C.UTF-8 and prints two kinds of strings (verified on Xvfb, see testdata):
//  - "text" properties (WM_NAME): converted to the locale and printed RAW — embedded quotes
//    and backslashes are not escaped, so the value is everything between the first and the
//    last double quote of the line;
//  - "string"/"utf8" properties (_NET_WM_NAME, WM_CLASS): C-escaped (\" \\ \n, octal bytes).
// get-windows treats both as escaped and stops at the first inner quote, so a title like
// `notes" kms` loses its end — an easy way to hide words from the keyword matcher.

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

/** The C-escaped quoted strings of a value (`"a \"b\"", "c"` → ['a "b"', 'c']), decoded as UTF-8. */
export function parseEscapedStrings(raw: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < raw.length) {
    const start = raw.indexOf('"', i);
    if (start < 0) break;
    const bytes: number[] = [];
    let j = start + 1;
    for (; j < raw.length && raw[j] !== '"'; j++) {
      if (raw[j] !== '\\') {
        bytes.push(...Buffer.from(raw[j]!, 'utf8'));
        continue;
      }
      const next = raw[++j];
      const octal = /^[0-7]{3}/.exec(raw.slice(j, j + 3));
      if (octal) {
        bytes.push(Number.parseInt(octal[0], 8));
        j += 2;
      } else if (next === 'n') bytes.push(10);
      else if (next === 't') bytes.push(9);
      else if (next === 'r') bytes.push(13);
      else if (next !== undefined) bytes.push(...Buffer.from(next, 'utf8'));
    }
    out.push(Buffer.from(bytes).toString('utf8'));
    i = j + 1;
  }
  return out;
}

/** WM_CLASS is `"instance", "Class"`; the class names the app. */
export function parseWmClass(raw: string): string {
  const parts = parseEscapedStrings(raw);
  return parts[1] ?? parts[0] ?? '';
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
      if (line.found) next.netWmName = parseEscapedStrings(line.raw)[0] ?? '';
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
