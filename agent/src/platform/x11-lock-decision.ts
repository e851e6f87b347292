// "Is the X11 screen locked?" from evidence the pupil cannot forge (pure; issue 11 item 1).
//
// Not trusted: a window's name, WM_CLASS or _NET_WM_PID (any client sets them on its own window),
// a window's size alone, an unmapped window (`xterm -class i3lock` + `xdotool windowunmap` +
// `windowsize` made the old check report LOCKED), and on X11 logind's LockedHint (the session's
// own user may call SetLockedHint on their session).
//
// Trusted, all together:
//  - the TOP-MOST VIEWABLE child of the root window that covers the whole screen (smaller windows
//    above it get no input while a locker holds the grabs; a locker unmapped has lost them, and
//    one under another screen-sized window is not what the user sees);
//  - the X server says which process created that window (X-Resource QueryClientIds: the peer
//    credentials of the client's local socket, see x11-wire.ts);
//  - that process runs a known locker binary from a system directory, the binary owned by root,
//    without LD_PRELOAD, as the session's user (or root), or it is the locker the agent started.
// Known gaps are in the agent README ("What the agent cannot see").

/** Base names of locker executables. */
export const KNOWN_LOCKER_BINARIES = [
  'i3lock',
  'xsecurelock',
  'slock',
  'xscreensaver',
  'xlock',
  'light-locker',
] as const;

/** Directories a trusted locker binary may live in (root-owned on every distribution). */
export const TRUSTED_BIN_DIRS = ['/usr/bin', '/bin', '/usr/local/bin', '/usr/libexec', '/usr/lib'];

export interface X11TopWindow {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
  /** The creating client's pid, from the X server (X-Resource); undefined when it cannot tell. */
  clientPid?: number;
}

export interface ProcessFacts {
  pid: number;
  uid: number;
  /** /proc/PID/exe target. */
  exe: string;
  /** Owner of that executable file. */
  exeUid: number;
  /** LD_PRELOAD or LD_LIBRARY_PATH in the process's environment. */
  preload: boolean;
}

export interface OwnLocker {
  pid: number;
  running: boolean;
}

export interface X11LockEvidence {
  screenWidth: number;
  screenHeight: number;
  /** The top-most viewable child of the root window covering the screen (undefined: none). */
  top: X11TopWindow | undefined;
  /** Facts about top.clientPid's process (undefined: unknown or gone). */
  topProcess: ProcessFacts | undefined;
  /** The session's user (helpers and the agent's locker run as this uid). */
  sessionUid: number | undefined;
  /** The locker the agent started, if any. */
  own: OwnLocker | undefined;
  /** Extra locker binary names (the configured lock command's). */
  lockerNames?: readonly string[];
}

export type X11LockVerdict =
  | { locked: true; by: 'own-locker' | 'locker-process'; pid: number }
  | { locked: false; why: string; tamper?: string };

function coversScreen(w: X11TopWindow, width: number, height: number): boolean {
  return w.x <= 0 && w.y <= 0 && w.x + w.width >= width && w.y + w.height >= height;
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

export function decideX11Locked(e: X11LockEvidence): X11LockVerdict {
  const verdict = ((): X11LockVerdict => {
    const top = e.top;
    if (!top) return { locked: false, why: 'no viewable window' };
    if (!coversScreen(top, e.screenWidth, e.screenHeight))
      return { locked: false, why: 'the top window does not cover the screen' };
    if (top.clientPid === undefined)
      return { locked: false, why: 'the X server does not say who owns the top window' };
    const p = e.topProcess;
    if (!p || p.pid !== top.clientPid) return { locked: false, why: 'the top window’s process is gone' };
    const names = new Set<string>([...KNOWN_LOCKER_BINARIES, ...(e.lockerNames ?? [])]);
    const exe = p.exe.replace(/ \(deleted\)$/, '');
    const base = exe.slice(exe.lastIndexOf('/') + 1);
    if (!names.has(base)) return { locked: false, why: 'the top window is not a screen locker’s' };
    if (!TRUSTED_BIN_DIRS.includes(dirOf(exe)) || p.exeUid !== 0)
      return { locked: false, why: `the top window's ${base} is not the system's` };
    if (p.preload) return { locked: false, why: `the top window's ${base} runs with LD_PRELOAD` };
    const ours = e.own?.running === true && e.own.pid === p.pid;
    if (!ours && p.uid !== 0 && p.uid !== e.sessionUid)
      return { locked: false, why: `the top window's ${base} belongs to another user` };
    return { locked: true, by: ours ? 'own-locker' : 'locker-process', pid: p.pid };
  })();
  if (!verdict.locked && e.own?.running) {
    return {
      ...verdict,
      tamper: `the agent's screen locker (pid ${e.own.pid}) is running but is not the viewable full-screen top window (${verdict.why})`,
    };
  }
  return verdict;
}
