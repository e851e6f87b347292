// Records files written to mounted removable volumes (chokidar). Writes that land before the
// block are evidence the data-protection officer needs. chokidar goes silent on a path after it
// is unmounted and mounted again, and reports every file as unlinked on unmount (platform-notes
// §3), so watchers are recreated on every mount change and unlinks only mean "look again".
import { type FSWatcher, watch } from 'chokidar';

export interface FileWrite {
  device: string;
  path: string;
  sizeBytes: number;
  mtimeMs: number;
}

export interface WatchTarget {
  device: string;
  target: string;
  /** Files found by the initial scan count only if modified after this (ms); later events always count. */
  sinceMs: number;
}

export interface MountWatchersOptions {
  onWrite(write: FileWrite): void;
  /** Unlink events: on a removable volume these almost always mean it was unmounted. */
  onUnlink(): void;
  onError?(target: string, err: Error): void;
}

const key = (t: WatchTarget): string => `${t.device}\0${t.target}`;

export class MountWatchers {
  readonly #opts: MountWatchersOptions;
  readonly #watchers = new Map<string, { target: WatchTarget; watcher: FSWatcher; ready: Promise<void> }>();
  readonly #seen = new Map<string, Set<string>>();

  constructor(opts: MountWatchersOptions) {
    this.#opts = opts;
  }

  /** Makes the watched set equal `targets`; targets listed in `recreate` get a fresh watcher. */
  async sync(targets: WatchTarget[], recreate: ReadonlySet<string> = new Set()): Promise<void> {
    const want = new Map(targets.map((t) => [key(t), t]));
    const closing: Promise<void>[] = [];
    for (const [k, w] of this.#watchers) {
      if (!want.has(k) || recreate.has(w.target.target)) {
        this.#watchers.delete(k);
        closing.push(w.watcher.close());
      }
    }
    await Promise.all(closing);
    for (const [k, t] of want) if (!this.#watchers.has(k)) this.#start(k, t);
  }

  /** Resolves when every current watcher has finished its initial scan. */
  async ready(): Promise<void> {
    await Promise.all([...this.#watchers.values()].map((w) => w.ready));
  }

  /** Drops the record of files already reported for a device that went away. */
  forget(device: string): void {
    this.#seen.delete(device);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#watchers.values()];
    this.#watchers.clear();
    await Promise.all(all.map((w) => w.watcher.close()));
  }

  get size(): number {
    return this.#watchers.size;
  }

  #start(k: string, t: WatchTarget): void {
    let ready = false;
    const seen = this.#seen.get(t.device) ?? new Set<string>();
    this.#seen.set(t.device, seen);
    const watcher = watch(t.target, {
      ignoreInitial: false,
      alwaysStat: true,
      followSymlinks: false,
      ignorePermissionErrors: true,
      // Removable media: poll-free inotify, but never descend forever into deep trees.
      depth: 64,
    });
    const onFile = (path: string, stats?: { size: number; mtimeMs: number }): void => {
      if (!stats) return;
      if (!ready && stats.mtimeMs < t.sinceMs) return; // was already there before the volume appeared
      const id = `${path}\0${stats.size}\0${stats.mtimeMs}`;
      if (seen.has(id)) return;
      seen.add(id);
      this.#opts.onWrite({ device: t.device, path, sizeBytes: stats.size, mtimeMs: stats.mtimeMs });
    };
    watcher.on('add', onFile);
    watcher.on('change', onFile);
    watcher.on('unlink', () => this.#opts.onUnlink());
    watcher.on('unlinkDir', () => this.#opts.onUnlink());
    watcher.on('error', (err) => this.#opts.onError?.(t.target, err as Error));
    const readyP = new Promise<void>((resolve) => {
      watcher.once('ready', () => {
        ready = true;
        resolve();
      });
    });
    this.#watchers.set(k, { target: t, watcher, ready: readyP });
  }
}
