// The subject access archive: ONE zip (yazl) streamed to the caller, never held whole. Parts are
// produced one after another (yazl asks for each only when the previous one is written), each
// hashed (SHA-256) and counted on its way into the zip; manifest.json comes last and lists every
// part with its hash and size. Screenshots are decrypted one stored chunk at a time.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import { toTimelineItem } from '../safeguarding/context.ts';
import type { Incident } from '../safeguarding/incidents.ts';
import { fromJsonBytes, HIGH, K } from '../store/keys.ts';
import type { AuditRecord, Store } from '../store/types.ts';
import { type DeviceScope, deviceTimeline, inScope, type Subject, selectorLabel } from './subject.ts';

export interface ManifestPart {
  path: string;
  description: string;
  sha256: string;
  bytes: number;
  /** Lines in an .ndjson part. */
  records?: number;
}

export interface Manifest {
  format: 'custodian-subject-access/1';
  subject: string;
  generatedAt: string;
  generatedBy: string;
  reference: string;
  parts: ManifestPart[];
}

interface Part {
  path: string;
  description: string;
  /** The part's bytes, produced when yazl reaches it. */
  produce: () => AsyncIterable<Uint8Array>;
}

const EXT: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg' };
const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(`${JSON.stringify(v, null, 2)}\n`);
const line = (v: unknown) => enc.encode(`${JSON.stringify(v)}\n`);

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Everything held about the subject, as the parts of the archive (cheap: nothing is read yet). */
export async function subjectParts(
  store: Store,
  subject: Subject,
  info: Record<string, unknown>,
): Promise<Part[]> {
  const parts: Part[] = [
    {
      path: 'subject.json',
      description: 'who this archive is about, how their records were found, and what it does not hold',
      produce: () =>
        once(
          json({
            ...info,
            subject: selectorLabel(subject.selector),
            devices: subject.devices.map((d) => ({
              id: d.device.id,
              hostname: d.device.hostname,
              kind: d.device.kind,
              allOfIt: d.whole,
              why: d.why,
              signedInWindows: d.whole ? undefined : d.windows,
            })),
            counts: { alerts: subject.alerts.length, incidents: subject.incidents.length },
            notes: [
              'Timeline events of a school device are those from a report naming the user as signed in until a report naming someone else or nobody.',
              'Incidents are those linked to the alerts in this archive, or naming the user among the people involved (the name as written by the DSL).',
              'Screenshots are the decrypted images as stored; each file is listed in manifest.json with its SHA-256.',
            ],
          }),
        ),
    },
  ];
  for (const scope of subject.devices) parts.push(...deviceParts(store, scope));
  for (const a of subject.alerts) {
    parts.push({
      path: `alerts/${a.id}.json`,
      description: 'an alert and the DSL’s decisions on it',
      produce: () => once(json(a)),
    });
    for (const blobId of new Set(a.screenshotBlobIds)) {
      const meta = await store.blobs.meta(a.deviceId, blobId);
      if (!meta) continue; // expired (the alert says so) or never uploaded
      const ext = EXT[meta.contentType] ?? 'bin';
      parts.push({
        path: `alerts/${a.id}/screenshots/${blobId}.${ext}`,
        description: 'a screenshot of this alert (decrypted)',
        produce: () => screenshot(store, a.deviceId, blobId),
      });
    }
  }
  for (const i of subject.incidents)
    parts.push({
      path: `incidents/${i.id}.json`,
      description: 'an e-safety incident record',
      produce: () => once(json(i as Incident)),
    });
  parts.push({
    path: 'audit.ndjson',
    description:
      'audit records about these devices, alerts and incidents (and, for a staff user, their own actions)',
    produce: () => auditLines(store, subject),
  });
  return parts;
}

function deviceParts(store: Store, scope: DeviceScope): Part[] {
  const { device } = scope;
  const dir = `devices/${device.id}`;
  return [
    {
      path: `${dir}/device.json`,
      description:
        'the enrolment record (BYOD agreement acceptance included), live status, streams and replacements',
      produce: async function* () {
        const { keyHash: _k, enrolAttemptHash: _a, ...record } = device;
        const replacements = (await store.enrol.listReplacements()).filter(
          (r) => r.replaces === device.id || r.newDeviceId === device.id,
        );
        const code = device.byod ? await store.enrol.getCode(device.byod.codeHash) : undefined;
        yield json({
          device: record,
          enrolCode: code
            ? { hint: code.hint, createdAt: code.createdAt, createdBy: code.createdBy, note: code.note }
            : null,
          status: (await store.status.get(device.id)) ?? null,
          streams: await store.timeline.listStreams(device.id),
          policyOverride: (await store.policy.getOverride(device.id)) ?? null,
          replacements,
        });
      },
    },
    {
      path: `${dir}/timeline.ndjson`,
      description: 'timeline events, one JSON object per line, oldest first',
      produce: async function* () {
        const out = new Batcher();
        for await (const rec of deviceTimeline(store, device.id))
          if (inScope(scope, rec.time)) yield* out.add(line(toTimelineItem(rec)));
        yield* out.end();
      },
    },
  ];
}

async function* screenshot(store: Store, deviceId: string, blobId: string): AsyncGenerator<Uint8Array> {
  const blob = await store.blobs.readChunks(deviceId, blobId);
  if (!blob) return;
  yield* blob.chunks;
}

async function* auditLines(store: Store, subject: Subject): AsyncGenerator<Uint8Array> {
  const prefix = K.auditPrefix();
  const actor = subject.auditActor?.toLowerCase();
  const devices = new Set(subject.devices.map((d) => d.device.id));
  const out = new Batcher();
  for await (const [, v] of store.engine.entries({ gte: prefix, lt: prefix + HIGH })) {
    const r = fromJsonBytes<AuditRecord>(v);
    const deviceId = r.details?.['deviceId'];
    if (
      subject.auditTargets.has(r.target) ||
      (actor !== undefined && r.actor.toLowerCase() === actor) ||
      (typeof deviceId === 'string' && devices.has(deviceId))
    )
      yield* out.add(line(r));
  }
  yield* out.end();
}

/** Gathers small lines into ~64 KiB chunks: one zip write per chunk, not per line. */
class Batcher {
  private parts: Uint8Array[] = [];
  private size = 0;
  *add(bytes: Uint8Array): Generator<Uint8Array> {
    this.parts.push(bytes);
    this.size += bytes.byteLength;
    if (this.size >= 65_536) yield* this.end();
  }
  *end(): Generator<Uint8Array> {
    if (this.size === 0) return;
    const chunk = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    yield chunk;
  }
}

/**
 * Streams the zip of `parts` (then manifest.json) into `out`. Resolves with the manifest and
 * the archive's own SHA-256 once the last byte is written.
 */
export function writeArchive(
  parts: Part[],
  head: Omit<Manifest, 'parts' | 'format'>,
  out: NodeJS.WritableStream,
): Promise<{ manifest: Manifest; sha256: string; bytes: number }> {
  const zip = new ZipFile();
  const manifest: Manifest = { format: 'custodian-subject-access/1', ...head, parts: [] };
  for (const part of parts) {
    zip.addReadStreamLazy(part.path, { compress: !part.path.includes('/screenshots/') }, (cb) =>
      cb(null, Readable.from(hashed(part, manifest))),
    );
  }
  // Added last, so yazl asks for it only after every part above was written and hashed.
  zip.addReadStreamLazy('manifest.json', (cb) => cb(null, Readable.from(once(json(manifest)))));
  zip.end();
  const whole = createHash('sha256');
  let bytes = 0;
  // yazl's outputStream is a PassThrough; its type says only ReadableStream.
  const output = zip.outputStream as unknown as Readable;
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => {
      whole.update(chunk);
      bytes += chunk.byteLength;
    });
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve({ manifest, sha256: whole.digest('hex'), bytes }));
    zip.outputStream.pipe(out);
    // A caller that goes away stops the producers (they wait on the paused stream otherwise).
    out.on('close', () => {
      if (!output.readableEnded) {
        output.destroy();
        reject(new Error('the archive was not read to the end'));
      }
    });
  });
}

async function* hashed(part: Part, manifest: Manifest): AsyncGenerator<Uint8Array> {
  const h = createHash('sha256');
  let bytes = 0;
  let records = 0;
  for await (const chunk of part.produce()) {
    h.update(chunk);
    bytes += chunk.byteLength;
    // One JSON object per line: JSON.stringify never leaves a raw newline inside one.
    if (part.path.endsWith('.ndjson')) for (const b of chunk) if (b === 10) records++;
    yield chunk;
  }
  manifest.parts.push({
    path: part.path,
    description: part.description,
    sha256: h.digest('hex'),
    bytes,
    ...(part.path.endsWith('.ndjson') ? { records } : {}),
  });
}
