// How long has the user been idle? One interface, one file per OS, chosen here only.
import type { run } from './exec.ts';

/** run() from exec.ts; unit tests hand in a recording runner to check command construction. */
export type ExecRunner = typeof run;

export interface Availability {
  available: boolean;
  /** Why not (or how, when available), in words IT staff understand. */
  reason: string;
}

export interface IdleProbe {
  /** How idle time is measured ("xprintidle", "mutter-idlemonitor", "GetLastInputInfo", ...). */
  readonly method: string;
  /** Milliseconds since the last user input. Rejects with a CustodianError when it cannot tell. */
  idleMs(): Promise<number>;
  availability(): Promise<Availability>;
}

export interface IdleProbeOptions {
  /** Environment of the user's session (DISPLAY, WAYLAND_DISPLAY, DBUS_SESSION_BUS_ADDRESS, ...). */
  env?: NodeJS.ProcessEnv;
  run?: ExecRunner;
}

export async function createIdleProbe(
  options: IdleProbeOptions = {},
  platform: NodeJS.Platform = process.platform,
): Promise<IdleProbe> {
  switch (platform) {
    case 'linux':
      return (await import('./idle.linux.ts')).createLinuxIdleProbe(options);
    case 'win32':
      return (await import('./idle.win32.ts')).createWin32IdleProbe(options);
    case 'darwin':
      return (await import('./idle.darwin.ts')).createDarwinIdleProbe(options);
    default:
      return (await import('./idle.unsupported.ts')).createUnsupportedIdleProbe(platform);
  }
}
