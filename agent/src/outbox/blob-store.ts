// Blobs (screenshots) wait on disk in the data dir until the collector acks them STORED.
// A blob is complete once its .json sidecar exists (written after the data, both fsynced).
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodianError, ErrorCode, MAX_BLOB_BYTES } from '@custodian/protocol';
import type { AgentLogger, BlobSink } from '../core/contracts.ts';

export interface StoredBlob {
  id: string;
  contentType: string;
  size: number;
  sha256: string;
  createdMs: number;
}

export interface BlobStoreOptions {
  dir: string;
  log: AgentLogger;
  /** Most bytes of blobs waiting for upload; default 500 MiB. */
  maxTotalBytes?: number;
}

const ID = /^[0-9a-f-]{36}$/;

export class BlobStore implements BlobSink {
  private readonly dir: string;
  private readonly log: AgentLogger;
  private readonly maxTotalBytes: number;
  private readonly listeners = new Set<() => void>();

  constructor(options: BlobStoreOptions) {
    this.dir = options.dir;
    this.log = options.log;
    this.maxTotalBytes = options.maxTotalBytes ?? 500 * 1024 * 1024;
  }

  async putBlob(data: Uint8Array, contentType: string): Promise<string> {
    if (data.byteLength === 0 || data.byteLength > MAX_BLOB_BYTES)
      throw new CustodianError(
        ErrorCode.BLOB_TOO_LARGE,
        `blob of ${data.byteLength} bytes is outside 1..${MAX_BLOB_BYTES}`,
      );
    if (!/^[a-z]+\/[a-z0-9.+-]+$/i.test(contentType))
      throw new CustodianError(ErrorCode.INVALID_INPUT, 'blob content type must be a MIME type');
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const pending = await this.list();
    const total = pending.reduce((n, b) => n + b.size, 0);
    if (total + data.byteLength > this.maxTotalBytes)
      throw new CustodianError(ErrorCode.OUTBOX_FULL, `blob store holds ${total} bytes awaiting upload`);
    const id = randomUUID();
    const meta: StoredBlob = {
      id,
      contentType,
      size: data.byteLength,
      sha256: createHash('sha256').update(data).digest('hex'),
      createdMs: Date.now(),
    };
    await writeDurably(join(this.dir, `${id}.bin`), data);
    await writeDurably(join(this.dir, `${id}.json`), Buffer.from(JSON.stringify(meta)));
    for (const l of this.listeners) l();
    return id;
  }

  /** At start-up: removes what a crash left half-written (temp files, data without a sidecar). */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = await readdir(this.dir);
    const complete = new Set(names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)));
    for (const name of names) {
      const orphan = name.endsWith('.bin') && !complete.has(name.slice(0, -4));
      if (name.endsWith('.tmp') || orphan) await rm(join(this.dir, name), { force: true });
    }
  }

  /** Complete blobs awaiting upload, oldest first. Half-written ones (no sidecar) are removed. */
  async list(): Promise<StoredBlob[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: StoredBlob[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -5);
      if (!ID.test(id)) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as StoredBlob);
      } catch (err) {
        this.log.error('unreadable blob sidecar; dropping the blob', { blobId: id, err });
        await this.delete(id);
      }
    }
    return out.sort((a, b) => a.createdMs - b.createdMs);
  }

  async read(id: string): Promise<Uint8Array> {
    if (!ID.test(id)) throw new CustodianError(ErrorCode.INVALID_INPUT, 'bad blob id');
    return readFile(join(this.dir, `${id}.bin`));
  }

  async delete(id: string): Promise<void> {
    if (!ID.test(id)) throw new CustodianError(ErrorCode.INVALID_INPUT, 'bad blob id');
    await rm(join(this.dir, `${id}.json`), { force: true });
    await rm(join(this.dir, `${id}.bin`), { force: true });
  }

  onAdded(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

async function writeDurably(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
