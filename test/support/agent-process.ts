// A real agent process (agent/bin/custodian-agent.js on this Node 24) for end-to-end tests:
// enrol it against a collector, start it, stop it politely or with kill -9. Every process
// and temp dir started here is cleaned up by stop()/cleanup() and, as a last resort, at exit.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AGENT_BIN = resolve(
  fileURLToPath(new URL('../../agent/bin/custodian-agent.js', import.meta.url)),
);

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface CollectorRef {
  url: string;
  enrolSecret: string;
}

export interface EnrolledAgent {
  dataDir: string;
  deviceId: string;
  /** Removes the data dir. */
  cleanup(): Promise<void>;
}

/** Runs `custodian-agent <args>` to completion; rejects with its output on a non-zero exit. */
export function agentCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      process.execPath,
      [AGENT_BIN, ...args],
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            Object.assign(
              new Error(`custodian-agent ${args[0]} failed: ${err.message}\n${stdout}\n${stderr}`),
              { stdout, stderr, exitCode: child.exitCode },
            ),
          );
        else resolvePromise({ stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Enrols a fresh agent data dir with the collector's enrol secret. */
export async function enrolAgent(opts: {
  collector: CollectorRef;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<EnrolledAgent> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'custodian-agent-')));
  // Several agents on one test machine must not share the machine id.
  const env = { ...process.env, CUSTODIAN_AGENT_MACHINE_ID: randomBytes(16).toString('hex'), ...opts.env };
  await agentCli(['enrol', '--server', opts.collector.url, '--data-dir', dataDir], {
    env: { ...env, CUSTODIAN_ENROL_SECRET: opts.collector.enrolSecret },
  });
  const creds = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { deviceId: string };
  return {
    dataDir,
    deviceId: creds.deviceId,
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}

export interface AgentProcess {
  pid: number;
  dataDir: string;
  /** SIGTERM and wait (SIGKILL after 15 s). */
  stop(): Promise<void>;
  /** kill -9 and wait. */
  kill9(): Promise<void>;
  /** Everything the agent logged on stderr so far (JSON lines). */
  logs(): string;
  /** Closes the agent's stdin (started with `stdinPipe`): the Windows service host's stop request. */
  closeStdin(): void;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The agent's status.json (undefined before the first write). */
  status(): Promise<
    Record<string, unknown> & { link?: { status: string }; outbox?: { depth: number; lastSeq: number } }
  >;
  exited: Promise<number | null>;
}

export async function startAgent(opts: {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  args?: string[];
  /** Entry script; default the TypeScript bin (agent/dist/lib/custodian-agent.mjs is the bundle). */
  entry?: string;
  /** Flags for node itself (the installed service runs the bundle with --lite-mode). */
  nodeArgs?: string[];
  /** A single executable (packaging/) to run instead of node + entry. */
  exe?: string;
  /**
   * A command that runs the agent in its place and execs it, e.g. `['ip', 'netns', 'exec', NS]`
   * (test/support/netns.ts): the pid is then the agent's own.
   */
  prefix?: string[];
  /** stdin a pipe the test can close (default: /dev/null). */
  stdinPipe?: boolean;
}): Promise<AgentProcess> {
  const [prefixCmd, ...prefixArgs] = opts.prefix ?? [];
  const program = opts.exe ?? process.execPath;
  const child = spawn(
    prefixCmd ?? program,
    [
      ...(prefixCmd ? [...prefixArgs, program] : []),
      ...(opts.exe ? [] : [...(opts.nodeArgs ?? []), opts.entry ?? AGENT_BIN]),
      'run',
      '--data-dir',
      opts.dataDir,
      ...(opts.args ?? []),
    ],
    {
      env: { ...process.env, ...opts.env },
      stdio: [opts.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    },
  );
  live.add(child);
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      live.delete(child);
      for (const w of waiters) w();
      r(code);
    }),
  );
  const isDone = () => child.exitCode !== null || child.signalCode !== null;
  const waitForLog = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<string>((res, rej) => {
      const check = () => {
        const m = pattern.exec(out);
        if (m) {
          cleanup();
          res(m[0]);
        } else if (isDone()) {
          cleanup();
          rej(new Error(`agent exited before logging ${pattern}:\n${out.slice(-4000)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        rej(new Error(`agent did not log ${pattern} within ${timeoutMs} ms:\n${out.slice(-4000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const proc: AgentProcess = {
    pid: child.pid!,
    dataDir: opts.dataDir,
    exited,
    logs: () => out,
    closeStdin: () => child.stdin?.end(),
    waitForLog,
    async stop() {
      if (isDone()) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
    async kill9() {
      if (isDone()) return;
      child.kill('SIGKILL');
      await exited;
    },
    async status() {
      return JSON.parse(await readFile(join(opts.dataDir, 'status.json'), 'utf8'));
    },
  };
  await waitForLog(/"msg":"agent started"/);
  return proc;
}
