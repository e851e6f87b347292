// `custodian-agent emit-test-events N [--tag T] [--screenshots K]`: a documented diagnostic for
// delivery, load and crash tests. Appends N ActiveWindow events (app "custodian-diagnostic") to a
// stopped agent's outbox and, with --screenshots, K flagged-activity events each referencing one
// diagnostic screenshot (random bytes behind a PNG signature) put in the blob store, as a capture
// would. Titles carry the tag so several runs into one outbox stay distinguishable.
import { randomBytes } from 'node:crypto';
import type { AgentLogger, EventPayload } from '../core/contracts.ts';
import { BlobStore } from './blob-store.ts';
import { Outbox } from './outbox.ts';

export const DIAGNOSTIC_APP = 'custodian-diagnostic';
/** Size of each diagnostic screenshot: more than one upload chunk (256 KiB), so a kill can land mid-blob. */
export const DIAGNOSTIC_SCREENSHOT_BYTES = 300 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface DiagnosticOptions {
  outboxDir: string;
  blobDir: string;
  log: AgentLogger;
  count: number;
  tag?: string;
  screenshots?: number;
}

/** The title of diagnostic event i (1-based) of n. */
export function diagnosticTitle(i: number, n: number, tag?: string): string {
  return tag ? `diagnostic event ${i} of ${n} [${tag}]` : `diagnostic event ${i} of ${n}`;
}

export async function emitDiagnosticEvents(
  o: DiagnosticOptions,
): Promise<{ depth: number; lastSeq: number }> {
  const shots = o.screenshots ?? 0;
  const outbox = await Outbox.open({ dir: o.outboxDir, log: o.log });
  const blobs = new BlobStore({ dir: o.blobDir, log: o.log });
  try {
    // Flags are spread evenly through the events: flag k goes after event floor(k * N / K).
    const flagAfter = Array.from({ length: shots }, (_, k) => Math.floor(((k + 1) * o.count) / shots));
    let nextFlag = 0;
    let pending: EventPayload[] = [];
    const flush = async () => {
      if (pending.length > 0) await outbox.emitMany(pending);
      pending = [];
    };
    for (let i = 1; i <= o.count; i++) {
      pending.push({
        activeWindow: { app: DIAGNOSTIC_APP, title: diagnosticTitle(i, o.count, o.tag), url: '', pid: 0 },
      });
      while (nextFlag < shots && flagAfter[nextFlag] === i) {
        await flush();
        const png = Buffer.concat([PNG_SIGNATURE, randomBytes(DIAGNOSTIC_SCREENSHOT_BYTES - 8)]);
        const blobId = await blobs.putBlob(png, 'image/png');
        nextFlag++;
        pending.push({
          flaggedActivity: {
            category: DIAGNOSTIC_APP,
            severity: 1,
            matchedTerm: 'diagnostic',
            context: `diagnostic flag ${nextFlag} of ${shots}${o.tag ? ` [${o.tag}]` : ''}`,
            window: { app: DIAGNOSTIC_APP, title: `diagnostic flag ${nextFlag}`, url: '', pid: 0 },
            screenshotBlobIds: [blobId],
            screenshotUnavailableReason: '',
            repeatCount: 0,
            source: 'title',
            educationalContext: false,
          },
        });
      }
      if (pending.length >= 1_000) await flush();
    }
    await flush();
    const s = outbox.stats();
    return { depth: s.depth, lastSeq: s.lastSeq };
  } finally {
    await outbox.close();
  }
}
