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
  input?: string;
  /** Exit codes that count as success besides 0 (e.g. blkid's 2 = nothing found). */
  okExitCodes?: number[];
  maxBuffer?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeout = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout,
        killSignal: 'SIGKILL',
        env: options.env ?? process.env,
        maxBuffer: options.maxBuffer ?? 4 * 1024 * 1024,
        encoding: 'utf8',
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr, exitCode: 0 });
        const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string };
        const exitCode = typeof e.code === 'number' ? e.code : -1;
        if (exitCode >= 0 && options.okExitCodes?.includes(exitCode))
          return resolve({ stdout, stderr, exitCode });
        const what = `${cmd} ${args.join(' ')}`.slice(0, 200);
        if (e.killed || e.signal === 'SIGKILL') {
          return reject(
            new CustodianError(ErrorCode.COMMAND_TIMEOUT, `${what}: no answer within ${timeout} ms`),
          );
        }
        if (e.code === 'ENOENT') {
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
            `${what}: exit ${exitCode}${stderr ? `: ${stderr.trim().slice(0, 300)}` : ''}`,
            { cause: err, details: { cmd, exitCode, stderr } },
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
export function spawnTied(cmd: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const wrapper = process.platform === 'linux' ? findSetpriv() : null;
  if (wrapper) return spawn(wrapper, ['--pdeathsig', 'KILL', '--', cmd, ...args], options);
  return spawn(cmd, args, options);
}

/**
 * Starts a process that must outlive the agent: the screen locker (a restart of the agent must
 * not unlock the screen). Detached into its own process group; never tied, never timed out.
 */
export function spawnDetached(cmd: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return spawn(cmd, args, { ...options, detached: true });
}
