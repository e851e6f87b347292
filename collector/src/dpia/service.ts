// The DPIA draft kept as versions: each time the generated text differs from the last stored
// version (a policy change, a new agreement, a setting, a new route), a new version is stored
// with a unified diff against the previous one. Regenerated after every policy change and
// whenever someone opens it, so the stored versions follow the configuration.
//
// Settings record that becomes per-school with tenancy: kv `dpia` key `settings` (controller,
// DPO contact, processors, hosting), read only through `DpiaService.settings()`.
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import type { App } from '../app.ts';
import { ROLES } from '../http/router.ts';
import { effectivePolicy } from '../safeguarding/reports.ts';
import { DEFAULT_DPIA_SETTINGS, type DpiaFacts, type DpiaSettings, renderDpia } from './generate.ts';

export const DPIA_NS = 'dpia';
export const DPIA_VERSIONS_NS = 'dpia-versions';

export interface DpiaVersion {
  seq: number;
  at: number;
  sha256: string;
  /** What made it: `start`, `policy`, `settings`, `opened` (the configuration changed since the last). */
  trigger: string;
  text: string;
  /** Unified diff against the previous version ('' for the first). */
  diff: string;
}

const seqKey = (seq: number) => String(seq).padStart(8, '0');

export class DpiaService {
  private readonly app: App;
  /** Regenerations run one at a time, so two triggers never store the same version twice. */
  private chain: Promise<unknown> = Promise.resolve();

  private readonly now: () => number;

  constructor(app: App, now: () => number = Date.now) {
    this.app = app;
    this.now = now;
  }

  private get kv() {
    return this.app.store.kv<DpiaSettings>(DPIA_NS);
  }

  private get versionsKv() {
    return this.app.store.kv<DpiaVersion>(DPIA_VERSIONS_NS);
  }

  async settings(): Promise<DpiaSettings> {
    return { ...DEFAULT_DPIA_SETTINGS, ...(await this.kv.get('settings')) };
  }

  async setSettings(settings: DpiaSettings, actor: string): Promise<void> {
    await this.kv.put('settings', settings);
    await this.app.audit(actor, 'dpia.settings.changed', 'dpia:settings', {
      processors: settings.processors.length,
    });
  }

  /** Everything the document says, read off the live collector now. */
  async facts(): Promise<DpiaFacts> {
    const { store, config } = this.app;
    const base = await store.policy.getDefault();
    const policy = effectivePolicy(base, undefined);
    const overrides = (await store.policy.listOverrides()).map((o) => ({
      deviceId: o.deviceId,
      sections: Object.keys(o.patch ?? {}).sort(),
    }));
    const devices = { school: 0, byod: 0 };
    for (const d of await store.devices.list()) if (d.revokedAt === undefined) devices[d.kind]++;
    const agreement = await this.app.enrol.agreements.current();
    return {
      settings: await this.settings(),
      policy,
      overrides,
      devices,
      agreement: { version: agreement.version, sha256: agreement.sha256 },
      routes: this.app.router.routes.map((r) => ({ method: r.method, path: r.path, access: r.access })),
      roles: ROLES,
      retention: { ...config.retention } as unknown as Record<string, number>,
      storage: {
        dataDir: config.dataDir,
        screenshotKeyFile: config.screenshotKeyFile,
        tls: config.tls !== undefined,
        secureCookies: config.secureCookies,
        itBrowsingDetail: config.itBrowsingDetail,
        sessionIdleMinutes: Math.round(config.auth.sessionIdleMs / 60_000),
      },
    };
  }

  async latest(): Promise<DpiaVersion | undefined> {
    const [newest] = await this.versionsKv.list({ reverse: true, limit: 1 });
    return newest?.value;
  }

  /** Versions, newest first (the text of each is in `version(seq)`'s answer). */
  async versions(): Promise<DpiaVersion[]> {
    return (await this.versionsKv.list({ reverse: true })).map((r) => r.value);
  }

  /** Resolves when no regeneration is running. */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** Generates the document; stores it as a new version when it differs from the last. */
  regenerate(trigger: string): Promise<{ version: DpiaVersion; changed: boolean }> {
    const run = this.chain.then(() => this.regenerateNow(trigger));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async regenerateNow(trigger: string): Promise<{ version: DpiaVersion; changed: boolean }> {
    const text = renderDpia(await this.facts());
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    const last = await this.latest();
    if (last?.sha256 === sha256) return { version: last, changed: false };
    const seq = (last?.seq ?? 0) + 1;
    const version: DpiaVersion = {
      seq,
      at: this.now(),
      sha256,
      trigger,
      text,
      diff: last
        ? createTwoFilesPatch(`dpia-v${last.seq}.md`, `dpia-v${seq}.md`, last.text, text, '', '', {
            context: 3,
          })
        : '',
    };
    await this.versionsKv.put(seqKey(seq), version);
    this.app.log.info({ seq, trigger }, 'DPIA draft regenerated: the configuration changed');
    return { version, changed: true };
  }
}
