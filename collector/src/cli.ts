// custodian-collector CLI: `serve --data-dir DIR [--store level|postgres] --port N [--host H] [--tls-cert F --tls-key F]
// [--config FILE] [--log-level L] [--public-url URL]`, and `create-dsl` (auth/create-dsl.ts).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { createApp } from './app.ts';
import { createDslOnServer } from './auth/create-dsl.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';

const FLAGS = new Set([
  'data-dir',
  'store',
  'port',
  'host',
  'tls-cert',
  'tls-key',
  'config',
  'log-level',
  'public-url',
  'screenshot-key-file',
]);

const USAGE = `usage: custodian-collector serve --data-dir DIR [--store level|postgres] [--port N] [--host 127.0.0.1]
                                 [--tls-cert FILE --tls-key FILE] [--config FILE]
                                 [--log-level info] [--public-url URL] [--screenshot-key-file FILE]
       custodian-collector create-dsl --data-dir DIR --username NAME [--display-name TEXT]
                                 [--config FILE] [--screenshot-key-file FILE]
         (on the server, collector stopped: a DSL account when no DSL is left to approve one)
Environment overrides: see collector/README.md (CUSTODIAN_PORT, CUSTODIAN_ADMIN_TOKEN, ...).
With --store postgres the database URL comes from the config file (postgres.url) or
CUSTODIAN_POSTGRES_URL, never from the command line (it holds a password).`;

export function parseFlags(args: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const name = m[1] as string;
    if (!FLAGS.has(name)) throw new Error(`unknown option --${name}`);
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags[name] = value;
  }
  return flags;
}

async function serve(args: string[]): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ flags: parseFlags(args), env: process.env });
  } catch (err) {
    const code = err instanceof CustodianError ? err.code : ErrorCode.INVALID_CONFIG;
    process.stderr.write(`${JSON.stringify({ level: 60, code, msg: (err as Error).message })}\n${USAGE}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  const app = await createApp({ config, log });
  const { url } = await app.start();
  const { adminToken, enrolSecret } = app.credentials;
  if (adminToken || enrolSecret) {
    // Shown once, on this terminal only (not in the JSON log stream's fields).
    process.stdout.write(
      [
        'custodian-collector: save these now, they are not shown again',
        `  console/API:  ${url}`,
        ...(adminToken ? [`  admin token:  ${adminToken}`] : []),
        ...(enrolSecret ? [`  enrol secret: ${enrolSecret}`] : []),
        '',
      ].join('\n'),
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Takes `--name value` pairs for `names` out of args (create-dsl's own options). */
function takeOptions(args: string[], names: string[]): { rest: string[]; taken: Record<string, string> } {
  const rest: string[] = [];
  const taken: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i] as string);
    if (m && names.includes(m[1] as string)) {
      const value = m[2] ?? args[++i];
      if (value === undefined) throw new Error(`--${m[1]} needs a value`);
      taken[m[1] as string] = value;
    } else rest.push(args[i] as string);
  }
  return { rest, taken };
}

async function createDsl(args: string[]): Promise<void> {
  const { rest, taken } = takeOptions(args, ['username', 'display-name']);
  if (!taken['username']) throw new Error('--username is required');
  const config = loadConfig({ flags: parseFlags(rest), env: process.env });
  const log = createLogger('warn');
  // No modules: nothing is served, no first admin is made; only the store is opened.
  const app = await createApp({ config, log, modules: [] });
  try {
    const made = await createDslOnServer(app, {
      username: taken['username'],
      ...(taken['display-name'] ? { displayName: taken['display-name'] } : {}),
    });
    process.stdout.write(
      [
        `custodian-collector: DSL account ${made.username} created; the DSLs have been told.`,
        `  one-time password: ${made.oneTimePassword}  (hand it over in person; it must be changed at first sign-in)`,
        '',
      ].join('\n'),
    );
  } finally {
    await app.stop();
  }
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serve(rest);
  if (command === 'create-dsl') return createDsl(rest);
  process.stdout.write(`${USAGE}\n`);
  process.exit(command === 'help' || command === '--help' ? 0 : 2);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const code = err instanceof CustodianError ? err.code : undefined;
  process.stderr.write(
    `${JSON.stringify({ level: 60, code, msg: `collector failed to start: ${(err as Error).message}` })}\n`,
  );
  process.exit(1);
});
