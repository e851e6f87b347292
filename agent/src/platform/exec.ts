// Every OS command the agent runs goes through here: always a timeout, never a shell,
// failures wrapped with a stable code and the command named (STYLE.md §5).
import { type ChildProcess, execFile, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';

// The only door to node:child_process in the agent (biome.json forbids it elsewhere).
export type { ChildProcess, SpawnOptions };

export interface RunOptions {
  /** Hard limit; the process is killed (SIGKILL) when it passes. Default 5 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin (bytes as they are: an image for OCR). */
  input?: string | Uint8Array;
  /** Exit codes that count as success besides 0 (e.g. blkid's 2 = nothing found). */
  okExitCodes?: number[];
  maxBuffer?: number;
  /**
   * Run as this user instead of the agent's own identity (Linux, agent running as root): through
   * `setpriv --reuid --regid --init-groups`, with exactly `env` (HOME/USER/LOGNAME filled in from
   * here). Everything that talks to the user's X display or session bus runs this way, so a
   * helper crashed by hostile window data is the user's process, not root's, and can only read
   * what the user can read.
   */
  runAs?: RunAs;
}

/** A user identity to drop to (the graphical session's user). */
export interface RunAs {
  uid: number;
  gid: number;
  /** Login name: supplementary groups come from it (--init-groups); without it they are cleared. */
  user?: string;
  home: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return execute(cmd, args, options, 'utf8');
}

/** run() with stdout as bytes (an image); stderr stays text. */
export async function runBytes(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  const r = await execute(cmd, args, options, 'buffer');
  return { ...r, stderr: r.stderr.toString('utf8') };
}

function execute<E extends 'utf8' | 'buffer'>(
  cmd: string,
  args: readonly string[],
  options: RunOptions,
  encoding: E,
): Promise<{
  stdout: E extends 'utf8' ? string : Buffer;
  stderr: E extends 'utf8' ? string : Buffer;
  exitCode: number;
}> {
  type Out = E extends 'utf8' ? string : Buffer;
  const timeout = options.timeoutMs ?? 5_000;
  let file: string;
  let argv: string[];
  let env: NodeJS.ProcessEnv;
  try {
    [file, argv, env] = withIdentity(cmd, args, options.env ?? process.env, options.runAs, []);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      {
        timeout,
        killSignal: 'SIGKILL',
        env,
        maxBuffer: options.maxBuffer ?? 4 * 1024 * 1024,
        encoding,
        windowsHide: true,
      },
      (err, rawOut, rawErr) => {
        const stdout = rawOut as Out;
        const stderr = rawErr as Out;
        if (!err) return resolve({ stdout, stderr, exitCode: 0 });
        const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string };
        const exitCode: number = typeof e.code === 'number' ? e.code : -1;
        if (exitCode >= 0 && options.okExitCodes?.includes(exitCode))
          return resolve({ stdout, stderr, exitCode });
        const what = `${cmd} ${args.join(' ')}`.slice(0, 200);
        if (e.killed || e.signal === 'SIGKILL') {
          return reject(
            new CustodianError(ErrorCode.COMMAND_TIMEOUT, `${what}: no answer within ${timeout} ms`),
          );
        }
        if (e.code === 'ENOENT' || (options.runAs && exitCode === SETPRIV_NO_COMMAND)) {
          return reject(
            new CustodianError(ErrorCode.UNAVAILABLE, `${cmd} is not installed`, {
              cause: err,
              details: { cmd },
            }),
          );
        }
        reject(
          new CustodianError(
            ErrorCode.COMMAND_FAILED,
            `${what}: exit ${exitCode}${stderr ? `: ${stderr.toString().trim().slice(0, 300)}` : ''}`,
            { cause: err, details: { cmd, exitCode, stderr: stderr.toString() } },
          ),
        );
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** True when `cmd` can be found on PATH (for capability probes). */
export async function hasCommand(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v "$1"`, 'sh', cmd], { timeoutMs: 2_000 });
    return true;
  } catch {
    return false;
  }
}

/** setpriv exits 127 when it cannot exec the command (not installed). */
const SETPRIV_NO_COMMAND = 127;

/**
 * [file, argv, env] that run cmd as `runAs` (through setpriv, optionally with extra setpriv
 * options first), or cmd itself when no identity is asked for (pure but for finding setpriv).
 */
export function withIdentity(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  runAs: RunAs | undefined,
  setprivOptions: readonly string[],
): [string, string[], NodeJS.ProcessEnv] {
  if (!runAs) {
    if (setprivOptions.length === 0) return [cmd, [...args], env];
    const wrapper = findSetpriv();
    return wrapper ? [wrapper, [...setprivOptions, '--', cmd, ...args], env] : [cmd, [...args], env];
  }
  const wrapper = findSetpriv();
  if (!wrapper || process.platform !== 'linux')
    throw new CustodianError(ErrorCode.UNAVAILABLE, `cannot run ${cmd} as uid ${runAs.uid}: no setpriv`);
  return [wrapper, [...setprivArgs(runAs), ...setprivOptions, '--', cmd, ...args], identityEnv(env, runAs)];
}

/** setpriv options that become `runAs` (pure). */
export function setprivArgs(runAs: RunAs): string[] {
  if (!Number.isSafeInteger(runAs.uid) || runAs.uid < 0 || !Number.isSafeInteger(runAs.gid) || runAs.gid < 0)
    throw new CustodianError(ErrorCode.INVALID_CONFIG, `bad identity ${runAs.uid}:${runAs.gid}`);
  return [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, runAs.user ? '--init-groups' : '--clear-groups'];
}

/** The environment a helper run as `runAs` gets: the given one, with that user's HOME/USER (pure). */
export function identityEnv(env: NodeJS.ProcessEnv, runAs: RunAs): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, HOME: runAs.home };
  if (runAs.user) {
    out['USER'] = runAs.user;
    out['LOGNAME'] = runAs.user;
  } else {
    delete out['USER'];
    delete out['LOGNAME'];
  }
  return out;
}

let setpriv: string | null | undefined;
function findSetpriv(): string | null {
  if (setpriv === undefined) {
    setpriv = null;
    for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
      if (dir && existsSync(join(dir, 'setpriv'))) {
        setpriv = join(dir, 'setpriv');
        break;
      }
    }
  }
  return setpriv;
}

/**
 * Starts a long-running helper (udevadm monitor, findmnt --poll, xprop -spy) that must not
 * outlive the agent: after a kill -9 of the agent it would run on as an orphan, and every
 * restart would add one more. On Linux it runs under `setpriv --pdeathsig KILL` (util-linux),
 * so the kernel kills it when the agent dies. Elsewhere it is a plain spawn and the service
 * manager's process group cleanup is what we rely on. Not for lockers: a lock must outlive us.
 */
export function spawnTied(
  cmd: string,
  args: readonly string[],
  options: SpawnOptions & { runAs?: RunAs },
): ChildProcess {
  const { runAs, ...spawnOptions } = options;
  const tie = process.platform === 'linux' ? ['--pdeathsig', 'KILL'] : [];
  const [file, argv, env] = withIdentity(cmd, args, options.env ?? process.env, runAs, tie);
  return spawn(file, argv, { ...spawnOptions, env });
}

/**
 * Starts a process that must OUTLIVE the agent (the screen locker: an agent restart must not
 * unlock the screen): its own process group, not tied, not waited for. Optionally as `runAs`.
 */
export function spawnDetached(
  cmd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; runAs?: RunAs; stdio?: SpawnOptions['stdio'] },
): ChildProcess {
  const [file, argv, env] = withIdentity(cmd, args, options.env ?? process.env, options.runAs, []);
  return spawn(file, argv, { env, stdio: options.stdio ?? 'ignore', detached: true });
}
