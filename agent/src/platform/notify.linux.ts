// The idle warning on Linux X11: a small centred `xmessage` window (x11-utils, already needed
// for xwininfo) titled WARNING_TITLE, closing itself with -timeout. Chosen over `notify-send`
// because that needs a notification daemon on the user's session bus, which a bare X session
// (and a root service) does not have; xmessage needs only the X display the idle probe uses.
// Wayland: no notice yet (say so; notify-send there is future work).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { type ChildProcess, hasCommand, spawnTied } from './exec.ts';
import { linuxSession } from './idle.linux.ts';
import {
  type IdleNotifier,
  type NotifierOptions,
  WARNING_TITLE,
  warningSeconds,
  warningText,
} from './notify.ts';
import { runAsFor, sessionEnv } from './session.ts';

/** X core fonts are Latin-1: the em dash would print as mojibake, so xmessage gets ASCII. */
export function xmessageArgs(secondsLeft: number): string[] {
  return [
    '-center',
    '-title',
    WARNING_TITLE,
    '-name',
    'custodian-idle-warning',
    '-timeout',
    String(warningSeconds(secondsLeft)),
    '-buttons',
    'OK:0',
    warningText(secondsLeft).replace(/—/g, '-'),
  ];
}

/** xmessage fails at once when it cannot open the display; waiting this long catches that. */
const EARLY_EXIT_MS = 300;
/** Backstop beyond xmessage's own -timeout, so a stuck window can never stay up. */
const KILL_SLACK_MS = 5_000;

/**
 * Without an explicit env the notice follows the discovered graphical session (session.ts), so
 * a root service warns on the user's display and a new login gets a notifier for its display.
 */
export function createLinuxNotifier(options: NotifierOptions = {}): IdleNotifier {
  if (options.env) return createLinuxNotifierFor(options.env);
  let env = sessionEnv();
  let inner = createLinuxNotifierFor(env);
  const current = (): IdleNotifier => {
    const now = sessionEnv();
    if (now !== env) {
      void inner.dismiss();
      env = now;
      inner = createLinuxNotifierFor(now);
    }
    return inner;
  };
  return {
    get method() {
      return current().method;
    },
    availability: () => current().availability(),
    show: (secondsLeft) => current().show(secondsLeft),
    dismiss: () => current().dismiss(),
  };
}

function createLinuxNotifierFor(env: NodeJS.ProcessEnv): IdleNotifier {
  const session = linuxSession(env);
  if (session.kind !== 'x11') {
    const reason =
      session.kind === 'wayland'
        ? 'Wayland session: no idle warning notice (xmessage needs X11; no notification daemon is used)'
        : 'no X display (DISPLAY is not set): no idle warning notice';
    return {
      method: 'none',
      availability: async () => ({ available: false, reason }),
      show: () => Promise.reject(new CustodianError(ErrorCode.UNAVAILABLE, reason)),
      dismiss: async () => undefined,
    };
  }

  let shown: ChildProcess | undefined;
  /** Bumped by every show and dismiss: a show overtaken by a dismiss must not open a window. */
  let generation = 0;

  async function dismiss(): Promise<void> {
    generation++;
    await close();
  }

  async function close(): Promise<void> {
    const child = shown;
    shown = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  return {
    method: 'xmessage',
    async availability() {
      if (!(await hasCommand('xmessage'))) {
        return { available: false, reason: 'xmessage is not installed (x11-utils)' };
      }
      return { available: true, reason: `warns with xmessage on ${session.display}` };
    },
    dismiss,
    async show(secondsLeft) {
      const mine = ++generation;
      await close();
      if (mine !== generation) return;
      const args = xmessageArgs(secondsLeft);
      const runAs = runAsFor(env);
      const child = spawnTied('xmessage', args, {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
        ...(runAs ? { runAs } : {}),
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 2_000) stderr += String(d);
      });
      const backstop = setTimeout(
        () => child.kill('SIGKILL'),
        warningSeconds(secondsLeft) * 1000 + KILL_SLACK_MS,
      );
      backstop.unref();
      child.once('exit', () => clearTimeout(backstop));
      shown = child;
      const early = await new Promise<{ code: number | null; signal: string | null } | Error | undefined>(
        (resolve) => {
          const t = setTimeout(() => resolve(undefined), EARLY_EXIT_MS);
          child.once('error', (err) => {
            clearTimeout(t);
            resolve(err);
          });
          child.once('exit', (code, signal) => {
            clearTimeout(t);
            resolve({ code, signal });
          });
        },
      );
      if (early === undefined) return;
      if (shown !== child) return; // dismissed (or replaced) while we waited: not a failure
      shown = undefined;
      if (early instanceof Error) {
        const code =
          (early as NodeJS.ErrnoException).code === 'ENOENT'
            ? ErrorCode.UNAVAILABLE
            : ErrorCode.COMMAND_FAILED;
        throw new CustodianError(code, `xmessage: ${early.message}`, { cause: early });
      }
      if (early.code === 0) return; // closed at once (OK pressed by a very quick hand): it was shown
      throw new CustodianError(
        ErrorCode.COMMAND_FAILED,
        `xmessage exited ${early.code ?? early.signal}${stderr ? `: ${stderr.trim().slice(0, 300)}` : ''}`,
      );
    },
  };
}
