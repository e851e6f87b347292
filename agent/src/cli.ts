// custodian-agent <enrol|run|status|unenrol|install-service|report-uninstall> [--data-dir DIR]
// (plus `emit-test-events N`, a documented diagnostic for load and delivery tests).
import { readFile, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { isSea } from 'node:sea';
import { parseArgs } from 'node:util';
import { CustodianError, ErrorCode, isCustodianError } from '@custodian/protocol';
import pkg from '../package.json' with { type: 'json' };
import { startAgent } from './agent.ts';
import { writeFileAtomic } from './config/files.ts';
import { createLogger } from './config/logger.ts';
import { dataPaths, defaultDataDir } from './config/paths.ts';
import {
  loadCredentials,
  loadPending,
  type PendingEnrolment,
  removeCredentials,
  removePending,
} from './identity/credentials.ts';
import { claimPending, enrol } from './identity/enrol.ts';
import { enrolFromConfig } from './identity/enrol-config.ts';
import { writeBrowserFiles } from './native-host/browser-files.ts';
import { runNativeHost } from './native-host/host.ts';
import { refreshBrowserFiles } from './native-host/on-start.ts';
import { emitDiagnosticEvents } from './outbox/diagnostic-events.ts';
import { createBrowserPolicyStore } from './platform/browser-policy.ts';
import { createInventorySource } from './platform/inventory.ts';
import type { ScopeStatus } from './scope/scope-monitor.ts';
import { launchdInstructions, launchdPlist } from './service/launchd.ts';
import { defaultServiceSpec } from './service/service-spec.ts';
import { installSpawnCounter } from './service/spawn-counter.ts';
import { processAlive, readStatus } from './service/status-file.ts';
import { installSystemd, systemdUnit } from './service/systemd.ts';
import {
  reportUninstall,
  UNINSTALL_WAIT_DEFAULT_MS,
  UNINSTALL_WAIT_MAX_MS,
  validUninstallMethod,
} from './service/uninstall-report.ts';
import {
  checkWindowsDataDir,
  windowsInstallScript,
  windowsInstructions,
  windowsUninstallScript,
} from './service/windows.ts';

const USAGE = `Usage: custodian-agent <command> [--data-dir DIR]

Commands:
  enrol --server URL --secret S [--replace]         enrol a school-owned device (--replace: this device is
                                                    enrolled now; its key proves the replacement)
  enrol --server URL --code C --name N [--accept-agreement]
                                                    enrol your own device (BYOD); shows the agreement
  run [--demo] [--enforce]                          run the agent (--demo: USB audit-only and idle lock
                                                    report-only on your own machine, unless --enforce)
      [--enrol-config FILE]                         first enrol from an installer's file (SERVER=, ENROL_SECRET=;
                                                    0600), then delete it
      [--stop-on-stdin-eof]                         also stop cleanly when stdin closes (the Windows service
                                                    host's stop request)
      [--browser-files ROOT]                        once enrolled, keep the browser extension's host files
                                                    under ROOT (the .deb: /; Windows: the agent's folder, the
                                                    MSI's service passes it) for the collector's extension id
  status [--json]                                   enrolled? connected? monitoring on/off (BYOD scope), outbox, policy, capabilities
  unenrol                                           forget this device's enrolment and local data
  install-service [--no-enable] [--unit-dir DIR] [--target linux|darwin|win32] [--out DIR]
                                                    install as a service (Linux: systemd unit, Restart=always)
  report-uninstall --method M [--user U] [--wait-seconds N]
                                                    the installers' uninstall step (service stopped): tell
                                                    the collector the agent is being uninstalled; waits at
                                                    most N s (default 10) and never fails the uninstall
  browser-policy --remove                           the MSI's uninstall step (Windows): remove this agent's
                                                    entry from Chrome's and Edge's force-install lists
  inventory                                         print this device's inventory as the agent reports it (JSON)
  emit-test-events N [--tag T] [--screenshots K]    diagnostic: append N test events to the outbox
                                                    (agent must be stopped; they are app "custodian-diagnostic";
                                                    --screenshots: K flags, each with one test screenshot)
  browser-files (--root DIR | --out DIR [--target win32 [--install-dir WINDIR]])
                [--server URL | --extension-id ID | --key PEM]
                [--run-dir DIR] [--host-log FILE] [--extension-out DIR]
                                                    write the browser extension's host launcher, host
                                                    manifests and force-install policy (--root /: the
                                                    system paths; default server: the enrolled one)
  native-host --extension-id ID --run-dir DIR [--host-log FILE] ORIGIN
                                                    the native-messaging host (started by the browser)

Data dir default: ${defaultDataDir()}
The enrol secret may also come from CUSTODIAN_ENROL_SECRET (keeps it out of the process list).
If this machine is already enrolled as a live device and its key is lost (a reinstall), enrol
exits 4: IT must approve the replacement in the console. Run the same enrol command again after
approval, or leave the service running: it finishes the enrolment by itself once approved.
enrol needs an https:// server (plain http only to this machine, or with --insecure, which is
recorded and shown in the console). It pins the CA that vouches for the collector now, or the
one given with --ca FILE; later connections trust that CA only.
`;

/** `enrol` exit code: the request waits for an administrator's approval. */
const EXIT_PENDING = 4;

function pendingMessage(p: PendingEnrolment): string {
  return [
    `Enrolment is waiting for approval (request ${p.requestId}).`,
    `This machine is already enrolled as device ${p.replaces.deviceId} (${p.replaces.hostname}), which is still live,`,
    'and its key was not presented. An administrator or IT must approve replacing it in the console',
    `(Devices → Replacement requests). Once approved, run this enrol command again, or start the`,
    'agent service: it completes the enrolment by itself.',
    '',
  ].join('\n');
}

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [first, ...others] = argv;
  // Started by the browser with its own arguments (origin; --parent-window=N on Windows).
  if (first === 'native-host') return nativeHost(others);
  // `custodian-agent --help` and `custodian-agent run --help` both print the usage.
  const helpOnly = first === '--help' || first === '-h';
  const command = helpOnly ? 'help' : first;
  const rest = helpOnly ? [] : others;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      'data-dir': { type: 'string' },
      server: { type: 'string' },
      secret: { type: 'string' },
      code: { type: 'string' },
      name: { type: 'string' },
      'accept-agreement': { type: 'boolean' },
      replace: { type: 'boolean' },
      ca: { type: 'string' },
      insecure: { type: 'boolean' },
      demo: { type: 'boolean' },
      enforce: { type: 'boolean' },
      json: { type: 'boolean' },
      'no-enable': { type: 'boolean' },
      'enrol-config': { type: 'string' },
      'stop-on-stdin-eof': { type: 'boolean' },
      'browser-files': { type: 'string' },
      'unit-dir': { type: 'string' },
      target: { type: 'string' },
      out: { type: 'string' },
      'extension-id': { type: 'string' },
      key: { type: 'string' },
      'run-dir': { type: 'string' },
      'host-log': { type: 'string' },
      root: { type: 'string' },
      'extension-out': { type: 'string' },
      'install-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      tag: { type: 'string' },
      screenshots: { type: 'string' },
      method: { type: 'string' },
      user: { type: 'string' },
      'wait-seconds': { type: 'string' },
      remove: { type: 'boolean' },
    },
  });
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const log = createLogger();
  switch (command) {
    case 'enrol': {
      if (!values.server) throw new UsageError('enrol needs --server URL');
      const secret = values.secret ?? (values.code ? undefined : process.env['CUSTODIAN_ENROL_SECRET']);
      const outcome = await enrol({
        server: values.server,
        dataDir,
        replace: values.replace === true,
        ...(secret !== undefined ? { secret } : {}),
        ...(values.code !== undefined ? { code: values.code } : {}),
        ...(values.name !== undefined ? { name: values.name } : {}),
        acceptAgreement: values['accept-agreement'] === true,
        insecure: values.insecure === true,
        ...(values.ca !== undefined ? { caFile: values.ca } : {}),
        confirm: askYes,
        print: (t) => process.stdout.write(`${t}\n`),
        log,
      });
      if (outcome.status === 'pending') {
        process.stdout.write(pendingMessage(outcome.pending));
        return EXIT_PENDING;
      }
      process.stdout.write(`Enrolled as device ${outcome.creds.deviceId} with ${outcome.creds.serverUrl}\n`);
      return 0;
    }
    case 'run':
      // An installer's enrol config (packaging/): enrol at first start, then the file is gone.
      // A failure exits non-zero so the service manager retries; the file stays for that retry.
      if (values['enrol-config']) await enrolFromConfig(values['enrol-config'], dataDir, log);
      return runAgent(
        dataDir,
        values.demo === true,
        values.enforce === true,
        log,
        values['stop-on-stdin-eof'] === true,
        values['browser-files'],
      );
    case 'status':
      return status(dataDir, values.json === true);
    case 'unenrol':
      return unenrol(dataDir);
    case 'install-service':
      return installService(dataDir, {
        enable: values['no-enable'] !== true,
        unitDir: values['unit-dir'] ?? '/etc/systemd/system',
        target: values.target ?? process.platform,
        out: values.out ?? process.cwd(),
        dataDirGiven: values['data-dir'] !== undefined,
      });
    case 'report-uninstall':
      return uninstallReport(dataDir, log, values.method, values.user, values['wait-seconds']);
    case 'browser-policy':
      return browserPolicy(values.remove === true);
    case 'screenshot-child':
      // The single executable's screenshot child (screenshot-process.ts); not for people.
      return (await import('./platform/screenshot-take.ts')).takeScreenshotToStdout();
    case 'inventory': {
      const source = await createInventorySource(pkg.version);
      process.stdout.write(`${JSON.stringify(await source.collect())}\n`);
      await source.close();
      return 0;
    }
    case 'browser-files':
      return browserFiles(dataDir, {
        out: values.out,
        root: values.root,
        server: values.server,
        target: values.target,
        'extension-id': values['extension-id'],
        key: values.key,
        'run-dir': values['run-dir'],
        'host-log': values['host-log'],
        'extension-out': values['extension-out'],
        'install-dir': values['install-dir'],
      });
    case 'emit-test-events': {
      const n = Number(positionals[0]);
      if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
        throw new UsageError('emit-test-events needs a count from 1 to 1,000,000');
      const shots = Number(values.screenshots ?? 0);
      if (!Number.isInteger(shots) || shots < 0 || shots > 1_000)
        throw new UsageError('--screenshots needs a count from 0 to 1,000');
      if (values.tag !== undefined && !/^[\w.-]{1,64}$/.test(values.tag))
        throw new UsageError('--tag: 1-64 letters, digits, ".", "_" or "-"');
      return emitTestEvents(dataDir, n, log, { tag: values.tag, screenshots: shots });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function askYes(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await Promise.race([
      rl.question(question),
      new Promise<string>((r) => rl.once('close', () => r(''))),
    ]);
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

/**
 * Calls `stop` once on SIGTERM or SIGINT and, with `stdinEof`, when stdin ends: the Windows service
 * host (packaging/windows/service-host.c) has no signals to send, so it closes the agent's stdin
 * pipe to ask for a clean stop (agentStopping sent, outbox flushed) before any TerminateProcess.
 * Returns the function that removes the listeners.
 */
function onStopRequest(stop: (reason: string) => void, stdinEof: boolean): () => void {
  let asked = false;
  const once = (reason: string) => () => {
    if (asked) return;
    asked = true;
    stop(reason);
  };
  const term = once('SIGTERM');
  const int = once('SIGINT');
  const eof = once('service stop');
  process.once('SIGTERM', term);
  process.once('SIGINT', int);
  if (stdinEof) {
    process.stdin.once('end', eof);
    process.stdin.once('close', eof);
    process.stdin.resume();
  }
  return () => {
    process.off('SIGTERM', term);
    process.off('SIGINT', int);
    if (stdinEof) {
      process.stdin.off('end', eof);
      process.stdin.off('close', eof);
      process.stdin.pause();
    }
  };
}

async function runAgent(
  dataDir: string,
  demo: boolean,
  enforce: boolean,
  log: ReturnType<typeof createLogger>,
  stopOnStdinEof = false,
  browserFilesRoot?: string,
): Promise<number> {
  const countSpawns = process.env['CUSTODIAN_COUNT_SPAWNS'] === '1' ? installSpawnCounter() : undefined;
  if (enforce && !demo) log.info('--enforce only matters with --demo: a real deployment enforces its policy');
  // A library's stray rejection must not take the agent down (screenshot-desktop has one).
  process.on('unhandledRejection', (err) => log.error('unhandled rejection (continuing)', { err }));
  if (!(await waitForEnrolment(dataDir, log, stopOnStdinEof))) return 1;
  // In the background: the agent starts whether or not the collector serves an extension.
  if (browserFilesRoot !== undefined) void refreshBrowserFiles(browserFilesRoot, dataDir, log);
  const agent = await startAgent({
    dataDir,
    version: pkg.version,
    log,
    demo,
    enforce,
    ...(countSpawns ? { countSpawns } : {}),
    ...(entryScript() !== undefined ? { helperScript: entryScript()! } : {}),
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('stopping', { signal });
      agent.stop(signal).then(resolve, (err) => {
        log.error('stop failed', { err });
        resolve();
      });
    };
    onStopRequest(stop, stopOnStdinEof);
  });
  return 0;
}

/**
 * A service installed before enrolment must not crash-loop under Restart=always: without a TTY
 * it waits for credentials to appear. On a terminal, not being enrolled is an error.
 */
async function waitForEnrolment(
  dataDir: string,
  log: ReturnType<typeof createLogger>,
  stopOnStdinEof: boolean,
): Promise<boolean> {
  if (await loadCredentials(dataDir)) return true;
  const pending = await loadPending(dataDir).catch(() => undefined);
  if (pending)
    log.warn('enrolment waits for approval; asking the collector until it is decided', {
      requestId: pending.requestId,
    });
  else if (process.stdin.isTTY) {
    process.stderr.write(
      `custodian-agent: not enrolled; run \`custodian-agent enrol --server URL ...\` first\n`,
    );
    return false;
  }
  log.warn('not enrolled yet; waiting for `custodian-agent enrol`', { dataDir });
  let stop = false;
  const removeStopListeners = onStopRequest(() => {
    stop = true;
  }, stopOnStdinEof);
  const claimEveryMs = Number(process.env['CUSTODIAN_AGENT_CLAIM_INTERVAL_MS'] ?? 30_000);
  let nextClaim = 0;
  while (!stop && !(await loadCredentials(dataDir).catch(() => undefined))) {
    if (Date.now() >= nextClaim && (await loadPending(dataDir).catch(() => undefined))) {
      nextClaim = Date.now() + claimEveryMs;
      // Approved: credentials appear and the loop ends. Denied: the claim is gone; keep waiting.
      await claimPending(dataDir, log).catch((err: unknown) =>
        log.warn('pending enrolment not approved', { error: (err as Error).message }),
      );
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
  removeStopListeners();
  return !stop;
}

async function nativeHost(args: string[]): Promise<number> {
  const opts: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--extension-id' || a === '--run-dir' || a === '--host-log') opts[a.slice(2)] = args[++i] ?? '';
    else rest.push(a);
  }
  if (!/^[a-p]{32}$/.test(opts['extension-id'] ?? '') || !opts['run-dir'])
    throw new UsageError('native-host needs --extension-id ID (32 letters a-p) and --run-dir DIR');
  return runNativeHost({
    extensionId: opts['extension-id']!,
    runDir: opts['run-dir']!,
    callerArgs: rest,
    ...(opts['host-log'] ? { logFile: opts['host-log'] } : {}),
  });
}

async function browserFiles(dataDir: string, o: Record<string, string | undefined>): Promise<number> {
  // Default: the collector this agent is enrolled with serves the extension and names its id.
  const creds = await loadCredentials(dataDir);
  const server = o['server'] ?? (o['extension-id'] || o['key'] ? undefined : creds?.serverUrl);
  const trust = creds?.tls && server === creds.serverUrl ? creds.tls : undefined;
  const target = o['target'];
  if (target !== undefined && target !== 'linux' && target !== 'win32')
    throw new UsageError('browser-files --target is linux or win32');
  const result = await writeBrowserFiles({
    dataDir,
    ...(server ? { server } : {}),
    ...(trust ? { trust } : {}),
    ...(o['extension-id'] ? { extensionId: o['extension-id'] } : {}),
    ...(o['key'] ? { keyPem: await readFile(o['key'], 'utf8') } : {}),
    ...(o['run-dir'] ? { runDir: o['run-dir'] } : {}),
    ...(o['host-log'] ? { hostLog: o['host-log'] } : {}),
    ...(o['out'] ? { out: o['out'] } : {}),
    ...(o['root'] ? { root: o['root'] } : {}),
    ...(target ? { target: target as NodeJS.Platform } : {}),
    ...(o['extension-out'] ? { extensionOut: o['extension-out'] } : {}),
    ...(o['install-dir'] ? { installDir: o['install-dir'] } : {}),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

/** This process's entry script (bin or bundle), for helper child processes; '' in the single executable (packaging/). */
function entryScript(): string | undefined {
  if (isSea()) return '';
  const script = process.argv[1];
  return script && /custodian-agent\.m?js$/.test(script) ? script : undefined;
}

async function status(dataDir: string, json: boolean): Promise<number> {
  const creds = await loadCredentials(dataDir);
  const st = await readStatus(dataPaths(dataDir).status);
  const running = st?.running === true && processAlive(st.pid);
  const pending = creds ? undefined : await loadPending(dataDir).catch(() => undefined);
  const report = {
    dataDir,
    enrolled: creds !== undefined,
    ...(pending
      ? { pendingApproval: { requestId: pending.requestId, replaces: pending.replaces.deviceId } }
      : {}),
    ...(creds ? { deviceId: creds.deviceId, serverUrl: creds.serverUrl, enrolledAt: creds.enrolledAt } : {}),
    running,
    ...(st
      ? {
          connection: running ? st.link.status : 'not running',
          lastError: st.link.lastError,
          outboxDepth: st.outbox.depth,
          lastSeq: st.outbox.lastSeq,
          ackedSeq: st.outbox.ackedSeq,
          droppedPendingGap: st.outbox.pendingGaps,
          diskLow: st.outbox.diskLow,
          policyVersion: st.policyVersion,
          demo: st.demo,
          enforce: st.enforce,
          capabilities: st.capabilities,
          ...(st.scope ? { scope: st.scope } : {}),
          statusUpdatedAt: st.updatedAt,
        }
      : {}),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines = [
      `enrolled:     ${creds ? `yes, device ${creds.deviceId} with ${creds.serverUrl}` : pending ? `waiting for approval (request ${pending.requestId}, replacing ${pending.replaces.deviceId})` : 'no'}`,
      `running:      ${running ? `yes (pid ${st?.pid})` : 'no'}`,
    ];
    if (st) {
      lines.push(
        `connection:   ${report.connection}${st.link.lastError ? ` (last error: ${st.link.lastError})` : ''}`,
        `outbox:       ${st.outbox.depth} events waiting (seq ${st.outbox.ackedSeq}/${st.outbox.lastSeq} acked)` +
          (st.outbox.diskLow ? ', DISK LOW: low-priority events refused' : ''),
        ...(st.scope ? [`monitoring:   ${monitoringLine(st.scope, running)}`] : []),
        `policy:       version ${st.policyVersion}${st.demo ? (st.enforce ? ' (demo, enforcing)' : ' (demo: audit/report-only)') : ''}`,
        'capabilities:',
        ...st.capabilities.map(
          (c) => `  ${c.name.padEnd(14)} ${c.available ? 'available' : `unavailable: ${c.reason}`}`,
        ),
        `as of:        ${st.updatedAt}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return creds ? 0 : 3;
}

/** What the laptop's user reads first: is the school recording anything now, and why. */
export function monitoringLine(scope: ScopeStatus, running: boolean): string {
  if (!running) return 'OFF: the agent is not running';
  if (!scope.applies) return `ON: ${scope.reason}`;
  return scope.inScope
    ? `ON (in school scope since ${scope.since}): ${scope.reason}`
    : `OFF (outside school scope since ${scope.since}; nothing is recorded, only heartbeats are sent): ${scope.reason}`;
}

async function unenrol(dataDir: string): Promise<number> {
  const paths = dataPaths(dataDir);
  const st = await readStatus(paths.status);
  if (st?.running && processAlive(st.pid))
    throw new CustodianError(ErrorCode.INVALID_INPUT, `the agent is running (pid ${st.pid}); stop it first`);
  const existed = await removeCredentials(dataDir);
  await removePending(dataDir);
  for (const p of [paths.outbox, paths.blobs, paths.policy, paths.status])
    await rm(p, { recursive: true, force: true });
  process.stdout.write(
    existed
      ? 'Unenrolled: credentials and local data removed. Ask IT to revoke the device in the console too.\n'
      : 'This device was not enrolled; local data removed.\n',
  );
  return 0;
}

async function installService(
  dataDir: string,
  o: { enable: boolean; unitDir: string; target: string; out: string; dataDirGiven: boolean },
): Promise<number> {
  const spec = defaultServiceSpec(dataDir, o.target === 'win32' ? `${dataDir}\\logs` : '/var/log');
  switch (o.target) {
    case 'linux': {
      if (o.enable && process.getuid?.() !== 0)
        throw new CustodianError(
          ErrorCode.FORBIDDEN,
          'installing a systemd service needs root (or use --no-enable --unit-dir DIR)',
        );
      for (const line of await installSystemd(spec, { unitDir: o.unitDir, enable: o.enable }))
        process.stdout.write(`${line}\n`);
      if (!o.enable) process.stdout.write(systemdUnit(spec));
      return 0;
    }
    case 'darwin': {
      const path = `${o.out}/uk.custodian.agent.plist`;
      await writeFileAtomic(path, launchdPlist(spec));
      process.stdout.write(`wrote ${path}; install it with:\n  ${launchdInstructions().join('\n  ')}\n`);
      return 0;
    }
    case 'win32': {
      if (o.dataDirGiven)
        checkWindowsDataDir(dataDir, process.platform === 'win32' ? defaultDataDir() : undefined);
      await writeFileAtomic(`${o.out}/install-service.cmd`, windowsInstallScript());
      await writeFileAtomic(`${o.out}/uninstall-service.cmd`, windowsUninstallScript());
      process.stdout.write(
        `wrote install-service.cmd and uninstall-service.cmd in ${o.out}; then:\n  ${windowsInstructions(o.out).join('\n  ')}\n`,
      );
      return 0;
    }
    default:
      throw new UsageError(`install-service: no service support for ${o.target}`);
  }
}

/** `browser-policy --remove`: the agent's forcelist entries out of the registry (never a school's). */
async function browserPolicy(remove: boolean): Promise<number> {
  if (!remove)
    throw new UsageError('browser-policy needs --remove (the agent writes the policy itself at start)');
  const outcomes = await (await createBrowserPolicyStore()).apply(undefined);
  process.stdout.write(`${JSON.stringify({ outcomes })}\n`);
  return 0;
}

async function uninstallReport(
  dataDir: string,
  log: ReturnType<typeof createLogger>,
  method: string | undefined,
  user: string | undefined,
  waitSeconds: string | undefined,
): Promise<number> {
  if (!method || !validUninstallMethod(method))
    throw new UsageError('report-uninstall needs --method (1-64 letters, digits, spaces, ". : / ( ) _ -")');
  const waitMs = waitSeconds === undefined ? UNINSTALL_WAIT_DEFAULT_MS : Number(waitSeconds) * 1000;
  if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > UNINSTALL_WAIT_MAX_MS)
    throw new UsageError(`--wait-seconds: 0 to ${UNINSTALL_WAIT_MAX_MS / 1000}`);
  // Whatever hangs (a stuck close), the uninstall goes on: a hard stop a little after the wait.
  setTimeout(() => process.exit(0), waitMs + 8_000).unref();
  const r = await reportUninstall({
    dataDir,
    method,
    ...(user ? { user } : {}),
    waitMs,
    version: pkg.version,
    log,
  });
  const line =
    r.status === 'not-enrolled'
      ? 'not enrolled: nothing to report'
      : r.status === 'delivered'
        ? `uninstall reported to the collector (device ${r.deviceId}, event ${r.seq})`
        : r.status === 'queued'
          ? `uninstall NOT reported to the collector: ${r.reason}; the event stays in the outbox (device ${r.deviceId}, event ${r.seq})`
          : `uninstall NOT reported: the outbox could not be opened (${r.reason}); is the agent still running?`;
  process.stdout.write(`custodian-agent: ${line}\n`);
  return 0;
}

async function emitTestEvents(
  dataDir: string,
  n: number,
  log: ReturnType<typeof createLogger>,
  extra: { tag: string | undefined; screenshots: number },
): Promise<number> {
  if (!(await loadCredentials(dataDir)))
    throw new UsageError('not enrolled: nothing would ever send these events');
  const paths = dataPaths(dataDir);
  const s = await emitDiagnosticEvents({
    outboxDir: paths.outbox,
    blobDir: paths.blobs,
    log,
    count: n,
    screenshots: extra.screenshots,
    ...(extra.tag !== undefined ? { tag: extra.tag } : {}),
  });
  const shots = extra.screenshots > 0 ? ` and ${extra.screenshots} flags with screenshots` : '';
  process.stdout.write(
    `appended ${n} diagnostic events${shots}; outbox holds ${s.depth} (last seq ${s.lastSeq})\n`,
  );
  return 0;
}

export async function cli(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`custodian-agent: ${(err as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    // Not a CustodianError: a bug (the one catalogue's INTERNAL code, as the collector uses).
    const code = isCustodianError(err) ? err.code : ErrorCode.INTERNAL;
    process.stderr.write(`custodian-agent: ${(err as Error).message} [${code}]\n`);
    process.exitCode = 1;
  }
}
