// Who keeps a filesystem from going read-only, and stopping them. `mount -o remount,ro` fails
// with "busy" while any process holds a file on it open for writing. Found by reading /proc
// (every fd whose file lives on the filesystem's device and was opened for writing), not by
// `fuser -m`, which also lists every process whose cwd is there: those do not block the remount,
// and after it they get EROFS.
import { readdir, readFile, readlink, stat } from 'node:fs/promises';

export interface FsWriter {
  pid: number;
  uid: number;
  comm: string;
  /** Paths (as /proc shows them) of the files it holds open for writing on the filesystem. */
  files: string[];
}

const O_ACCMODE = 0o3;

/** The open flags of one `/proc/PID/fdinfo/FD` ("flags:\t0100001"), octal. */
export function parseFdinfoFlags(text: string): number | undefined {
  const m = /^flags:\s*([0-7]+)$/m.exec(text);
  return m ? Number.parseInt(m[1] as string, 8) : undefined;
}

/** True when the fd was opened O_WRONLY or O_RDWR. */
export function isWriteFd(flags: number): boolean {
  return (flags & O_ACCMODE) !== 0;
}

/** Processes (other than this one) holding a file open for writing on the filesystem mounted at `target`. */
export async function findFsWriters(target: string, proc = '/proc'): Promise<FsWriter[]> {
  const dev = (await stat(target)).dev;
  const out: FsWriter[] = [];
  const pids = (await readdir(proc)).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`${proc}/${pid}/fd`).catch(() => [] as string[]); // gone, or a kernel thread
      const files: string[] = [];
      for (const fd of fds) {
        const link = await readlink(`${proc}/${pid}/fd/${fd}`).catch(() => '');
        if (!link.startsWith('/')) continue; // pipes, sockets, anon inodes
        const st = await stat(`${proc}/${pid}/fd/${fd}`).catch(() => undefined);
        if (!st || st.dev !== dev) continue;
        const flags = parseFdinfoFlags(await readFile(`${proc}/${pid}/fdinfo/${fd}`, 'utf8').catch(() => ''));
        if (flags !== undefined && isWriteFd(flags)) files.push(link);
      }
      if (files.length === 0) return;
      const [owner, comm] = await Promise.all([
        stat(`${proc}/${pid}`).then(
          (s) => s.uid,
          () => -1,
        ),
        readFile(`${proc}/${pid}/comm`, 'utf8').then(
          (t) => t.trim(),
          () => '',
        ),
      ]);
      out.push({ pid: Number(pid), uid: owner, comm, files });
    }),
  );
  return out.sort((a, b) => a.pid - b.pid);
}

/** "1234 (sh, uid 1000)" for the timeline; comm is process-chosen text, so it is cut short. */
export function describeWriter(w: FsWriter): string {
  return `${w.pid} (${w.comm.replace(/[^\x20-\x7e]/g, '?').slice(0, 15)}, uid ${w.uid})`;
}

/** Gone, or a zombie (its files are closed; only its parent's wait() is missing). */
async function exited(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || /\) Z /.test(stat);
}

/** SIGTERM, up to 1 s to exit, then SIGKILL and up to 2 s more. */
export async function stopProcesses(pids: number[]): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  const waitAll = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const states = await Promise.all(pids.map(exited));
      if (states.every(Boolean)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  signal('SIGTERM');
  if (await waitAll(1_000)) return;
  signal('SIGKILL');
  await waitAll(2_000);
}
