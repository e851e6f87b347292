// The BYOD acceptable use agreement: the school's own text, edited by an admin in the console
// and kept as versions (text, SHA-256, author, time), none ever changed or deleted. The newest
// version is the current one: GET /api/v1/agreement serves it and a BYOD enrolment must accept
// exactly it (version and SHA-256). Every acceptance is kept in its own log, written in the same
// batch as the enrolment it belongs to, so a later edit cannot change what someone agreed to.
//
// Settings record that becomes per-school with tenancy: the version list (kv `agreement-versions`;
// the newest entry is the school's current text), read only through `Agreements.current()`.
import { createHash } from 'node:crypto';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AuditFn } from '../auth/audit.ts';
import { toCsv } from '../csv.ts';
import { K, toJsonBytes } from '../store/keys.ts';
import type { KvOp, Store } from '../store/types.ts';

/** The text built into the collector before schools edited their own: the first stored version. */
export const AGREEMENT_VERSION = '2026-1';

export const AGREEMENT_TEXT = `Custodian — Bring Your Own Device (BYOD) acceptable use agreement (version ${AGREEMENT_VERSION})

By enrolling this device you agree that, while it is enrolled with the school:
1. The screen locks after the idle time set by the school's policy.
2. Files cannot be written to unencrypted USB storage; attempts are recorded.
3. Window titles and web addresses are checked on this device for words that can signal a
   safeguarding concern (for example self-harm, grooming, radicalisation). When one matches, a
   screenshot is taken and sent, encrypted, to the school's Designated Safeguarding Lead (DSL),
   who alone may view it. Nothing else of your screen is recorded.
4. The school keeps activity records for the time set in its retention policy, then deletes them.
5. You can see what is monitored with \`custodian-agent status\`, and you may unenrol at any time
   with \`custodian-agent unenrol\`; monitoring then stops on this device.
`;

export const sha256Text = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export const AGREEMENT_SHA256 = sha256Text(AGREEMENT_TEXT);

/** Longest agreement text accepted (characters). */
export const AGREEMENT_MAX_CHARS = 20_000;

export const AGREEMENT_VERSIONS_NS = 'agreement-versions';
export const AGREEMENT_ACCEPTANCES_NS = 'agreement-acceptances';

export interface AgreementVersion {
  /** 1, 2, 3… in the order published. */
  seq: number;
  /** `<year>-<seq>`, e.g. 2026-2: what the agent shows and sends back. */
  version: string;
  text: string;
  sha256: string;
  /** Who published it: a username, admin-token, or `system` for the built-in text. */
  author: string;
  createdAt: number;
}

export interface AgreementAcceptance {
  acceptedAt: number;
  userName: string;
  agreementVersion: string;
  agreementSha256: string;
  deviceId: string;
  hostname: string;
  /** Where the record came from: an enrolment, or copied from a device enrolled before this log existed. */
  source: 'enrolment' | 'device-record';
}

const seqKey = (seq: number) => String(seq).padStart(8, '0');
const acceptanceKey = (a: AgreementAcceptance) => `${String(a.acceptedAt).padStart(15, '0')}-${a.deviceId}`;

export class Agreements {
  private readonly o: { store: Store; now: () => number; audit: AuditFn };

  constructor(options: { store: Store; now: () => number; audit: AuditFn }) {
    this.o = options;
  }

  private get versionsKv() {
    return this.o.store.kv<AgreementVersion>(AGREEMENT_VERSIONS_NS);
  }

  private get acceptancesKv() {
    return this.o.store.kv<AgreementAcceptance>(AGREEMENT_ACCEPTANCES_NS);
  }

  /**
   * First start with this code: the built-in text becomes version 1 (same version name, same
   * SHA-256, so every acceptance already recorded on a device still names a stored version),
   * and the acceptances recorded on BYOD devices are copied into the acceptance log.
   */
  async init(): Promise<void> {
    if ((await this.versionsKv.list({ limit: 1 })).length > 0) return;
    const ops: KvOp[] = [];
    for (const d of await this.o.store.devices.list()) {
      if (!d.byod) continue;
      ops.push(
        this.acceptanceOp({
          acceptedAt: d.byod.acceptedAt,
          userName: d.byod.userName,
          agreementVersion: d.byod.agreementVersion,
          agreementSha256: d.byod.agreementSha256,
          deviceId: d.id,
          hostname: d.hostname,
          source: 'device-record',
        }),
      );
    }
    const first: AgreementVersion = {
      seq: 1,
      version: AGREEMENT_VERSION,
      text: AGREEMENT_TEXT,
      sha256: AGREEMENT_SHA256,
      author: 'system',
      createdAt: this.o.now(),
    };
    ops.push({ type: 'put', key: K.kv(AGREEMENT_VERSIONS_NS, seqKey(1)), value: toJsonBytes(first) });
    await this.o.store.engine.batch(ops, { sync: true });
  }

  /** The current version: the newest stored (the built-in text before init ran). */
  async current(): Promise<AgreementVersion> {
    const [newest] = await this.versionsKv.list({ reverse: true, limit: 1 });
    return (
      newest?.value ?? {
        seq: 1,
        version: AGREEMENT_VERSION,
        text: AGREEMENT_TEXT,
        sha256: AGREEMENT_SHA256,
        author: 'system',
        createdAt: 0,
      }
    );
  }

  /** Every version, oldest first. */
  async versions(): Promise<AgreementVersion[]> {
    return (await this.versionsKv.list()).map((r) => r.value);
  }

  /** Publishes new text as the next version; the same text as the current one is refused. */
  async publish(text: string, actor: string, reason: string): Promise<AgreementVersion> {
    const normalised = text.replace(/\r\n?/g, '\n');
    // Not blank, no control characters but line breaks and tabs: the route's schema checked it.
    const created = await this.o.store.withLock(async () => {
      const current = await this.current();
      const sha256 = sha256Text(normalised);
      if (sha256 === current.sha256)
        throw new CustodianError(
          ErrorCode.CONFLICT,
          `this is the text of the current version (${current.version}); nothing was published`,
        );
      const at = this.o.now();
      const seq = current.seq + 1;
      const next: AgreementVersion = {
        seq,
        version: `${new Date(at).getUTCFullYear()}-${seq}`,
        text: normalised,
        sha256,
        author: actor,
        createdAt: at,
      };
      await this.o.store.engine.batch(
        [{ type: 'put', key: K.kv(AGREEMENT_VERSIONS_NS, seqKey(seq)), value: toJsonBytes(next) }],
        { sync: true },
      );
      return next;
    });
    await this.o.audit(actor, 'agreement.published', `agreement:${created.version}`, {
      sha256: created.sha256,
      reason,
    });
    return created;
  }

  /** The write that records an acceptance: goes in the enrolment's own batch. */
  acceptanceOp(a: AgreementAcceptance): KvOp {
    return { type: 'put', key: K.kv(AGREEMENT_ACCEPTANCES_NS, acceptanceKey(a)), value: toJsonBytes(a) };
  }

  /** Every acceptance, oldest first. */
  async acceptances(): Promise<AgreementAcceptance[]> {
    return (await this.acceptancesKv.list()).map((r) => r.value);
  }
}

/** RFC 4180 CSV of the acceptances, formulas made inert (../csv.ts). */
export function acceptancesCsv(rows: AgreementAcceptance[]): string {
  const cols = [
    'acceptedAt',
    'userName',
    'agreementVersion',
    'agreementSha256',
    'deviceId',
    'hostname',
    'source',
  ] as const;
  return toCsv(
    cols,
    rows.map((r) =>
      cols.map((c) => (c === 'acceptedAt' ? new Date(r.acceptedAt).toISOString() : String(r[c] ?? ''))),
    ),
  );
}
