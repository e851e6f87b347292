// `pnpm start`: the collector on its embedded store plus a local agent enrolled against it, so
// a newcomer sees their own machine appear in the console. Data lives in .data/ (delete it to
// start over). The agent runs in demo mode (USB audit-only, idle lock report-only) unless
// `pnpm start --enforce` is given.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  type WriteStream,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { COLLECTOR_V8_FLAGS } from '../collector/src/runtime-flags.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = join(root, '.data');
const enforce = process.argv.includes('--enforce');
const port = process.env['CUSTODIAN_PORT'] ?? '8080';
const host = process.env['CUSTODIAN_HOST'] ?? '127.0.0.1';

mkdirSync(data, { recursive: true, mode: 0o700 });

// The demo keeps its enrol secret and admin token in .data (owner-only) so that a restart can
// re-enrol the local agent; a real deployment keeps only what the collector printed once.
interface DemoSecrets {
  enrolSecret: string;
  adminToken: string;
}
const secretsFile = join(data, 'demo-secrets.json');
const secrets: DemoSecrets = existsSync(secretsFile)
  ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as DemoSecrets)
  : { enrolSecret: randomBytes(24).toString('base64url'), adminToken: randomBytes(32).toString('base64url') };
writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });

const children: ChildProcess[] = [];
let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const c of children.reverse()) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3_000).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(
    () => process.exit(code),
  );
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

/** Starts a Node process whose stderr goes to .data/<logName>; returns it with that log stream. */
function node(
  args: string[],
  logName: string,
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; log: WriteStream } {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(data, logName), { flags: 'a', mode: 0o600 });
  // Both outputs may write to the log (the collector's JSON lines come on stdout): neither ends it.
  child.stderr?.pipe(log, { end: false });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${logName.replace('.log', '')} exited (${signal ?? code}); see .data/${logName}`);
      stopAll(1);
    }
  });
  return { child, log };
}

/** Starts the collector; resolves with its URL. Prints the one-time lines it shows (first admin). */
function startCollector(): Promise<string> {
  const { child: collector, log } = node(
    [
      ...COLLECTOR_V8_FLAGS,
      'collector/bin/custodian-collector.js',
      'serve',
      '--data-dir',
      join(data, 'collector'),
      '--port',
      port,
      '--host',
      host,
    ],
    'collector.log',
    { CUSTODIAN_ENROL_SECRET: secrets.enrolSecret, CUSTODIAN_ADMIN_TOKEN: secrets.adminToken },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('collector did not start within 30 s; see .data/collector.log')),
      30_000,
    );
    createInterface({ input: collector.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) {
        // The collector's own once-only lines (credentials, first admin password): show them.
        console.log(line);
        return;
      }
      log.write(`${line}\n`);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'collector listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not JSON after all: already written to the log
      }
    });
  });
}

function runOnce(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: 'pipe',
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

const url = await startCollector();
const agentDir = join(data, 'agent');
const agentBin = 'agent/bin/custodian-agent.js';
if (!existsSync(join(agentDir, 'credentials.json'))) {
  const enrolled = await runOnce([agentBin, 'enrol', '--server', url, '--data-dir', agentDir], {
    CUSTODIAN_ENROL_SECRET: secrets.enrolSecret,
  });
  if (enrolled.code !== 0) {
    console.error(`enrolling the local agent failed:\n${enrolled.out}`);
    stopAll(1);
  }
}
const agent = node(
  [agentBin, 'run', '--data-dir', agentDir, '--demo', ...(enforce ? ['--enforce'] : [])],
  'agent.log',
);
// Nothing reads the agent's stdout otherwise: an unread pipe would fill and stall the agent.
agent.child.stdout?.pipe(agent.log, { end: false });

console.log(
  [
    '',
    'Custodian is running.',
    `  Console:      ${url}/`,
    '  First login:  user "admin" with the one-time password shown above at first start',
    '                (already used? delete .data/ to start over)',
    `  Admin token:  ${secrets.adminToken}   (API automation: Authorization: Bearer …)`,
    `  Local agent:  ${enforce ? 'ENFORCING (idle lock and USB blocking are live)' : 'demo mode: USB audit-only, idle lock report-only (pnpm start --enforce to enforce)'}`,
    '  Logs:         .data/collector.log, .data/agent.log',
    '  Stop:         Ctrl-C',
    '',
  ].join('\n'),
);
