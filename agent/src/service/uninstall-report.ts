// `custodian-agent report-uninstall --method M [--user U] [--wait-seconds N]`: run by the
// installers' uninstall step once the service has stopped (the .deb's prerm on remove, the MSI's
// deferred custom action after StopServices, uninstall-service.cmd). It appends an
// `agentUninstalled` event to the agent's own outbox (durable before anything is sent) and runs
// the link until the collector acked it or the wait is over. It never fails the uninstall: not
// enrolled, the outbox busy (the agent still running), the collector unreachable — each is a
// result, and an unsent event stays in the outbox, delivered by a later start of the agent if
// it is ever installed again with its data dir (dpkg -r keeps it; purge and the MSI's data dir
// policy decide the rest — see agent/README.md "Uninstall").

import { dataPaths } from '../config/paths.ts';
import { PolicyStore } from '../config/policy-store.ts';
import type { AgentLogger } from '../core/contracts.ts';
import { loadCredentials } from '../identity/credentials.ts';
import { Link } from '../link/link.ts';
import { BlobStore } from '../outbox/blob-store.ts';
import { Outbox } from '../outbox/outbox.ts';
import { readStatus } from './status-file.ts';

/** Default and ceiling of the wait for the collector's ack: an uninstall must not hang on it. */
export const UNINSTALL_WAIT_DEFAULT_MS = 10_000;
export const UNINSTALL_WAIT_MAX_MS = 60_000;
const METHOD = /^[\w .:/()-]{1,64}$/;

export interface UninstallReportOptions {
  dataDir: string;
  /** How the agent is being removed ("dpkg remove", "msi uninstall", "uninstall-service.cmd"). */
  method: string;
  /** Who ran it, when the installer knows; device text, cut to 64 characters. */
  user?: string;
  waitMs: number;
  version: string;
  log: AgentLogger;
}

export type UninstallReport =
  | { status: 'not-enrolled' }
  | { status: 'delivered'; deviceId: string; seq: number }
  /** Durable in the outbox, not acked by the collector within the wait. */
  | { status: 'queued'; deviceId: string; seq: number; reason: string }
  /** Not even written: the outbox could not be opened (the agent still running holds it). */
  | { status: 'not-recorded'; deviceId: string; reason: string };

export function validUninstallMethod(method: string): boolean {
  return METHOD.test(method);
}

export async function reportUninstall(o: UninstallReportOptions): Promise<UninstallReport> {
  const creds = await loadCredentials(o.dataDir);
  if (!creds) return { status: 'not-enrolled' };
  const paths = dataPaths(o.dataDir);
  let outbox: Outbox;
  try {
    outbox = await Outbox.open({ dir: paths.outbox, log: o.log });
  } catch (err) {
    return { status: 'not-recorded', deviceId: creds.deviceId, reason: (err as Error).message };
  }
  try {
    await outbox.emit({ agentUninstalled: { method: o.method, user: (o.user ?? '').slice(0, 64) } });
    const seq = outbox.stats().lastSeq;
    const blobs = new BlobStore({ dir: paths.blobs, log: o.log });
    await blobs.init();
    const policy = await PolicyStore.load({ path: paths.policy, log: o.log, demo: false, enforce: false });
    // The Hello carries capabilities: repeat what the agent last reported rather than "none".
    const capabilities = (await readStatus(paths.status).catch(() => undefined))?.capabilities ?? [];
    const link = new Link({
      serverUrl: creds.serverUrl,
      deviceId: creds.deviceId,
      deviceKey: creds.deviceKey,
      trust: creds.tls,
      agentVersion: o.version,
      os: process.platform,
      outbox,
      blobs,
      policy,
      log: o.log,
      capabilities: () => capabilities,
      onCommand: async () => ({ ok: false, error: 'the agent is being uninstalled' }),
      connectTimeoutMs: Math.min(o.waitMs, 10_000),
      initialBackoffMs: 500,
      maxBackoffMs: 2_000,
    });
    link.start();
    const deadline = Date.now() + o.waitMs;
    while (outbox.stats().ackedSeq < seq && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const state = link.current();
    await link.stop();
    if (outbox.stats().ackedSeq >= seq) return { status: 'delivered', deviceId: creds.deviceId, seq };
    return {
      status: 'queued',
      deviceId: creds.deviceId,
      seq,
      reason: `not acked within ${Math.round(o.waitMs / 1000)} s (link ${state.status}${state.lastError ? `: ${state.lastError}` : ''})`,
    };
  } finally {
    await outbox.close();
  }
}
