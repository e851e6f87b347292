// Issue 10 item 12: `app.stop()` stops every module's timers. A child process runs the whole
// collector with every module, holds a live feed open, stops the app and then does nothing:
// it must exit on its own, with no interval left running (unref'd ones included).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('app.stop()', () => {
  it('leaves no timer running: a process that stopped the app exits on its own', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'stop-child.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 60_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const line = out.split('\n').find((l) => l.startsWith('REPORT '));
    expect(line, out).toBeDefined();
    const report = JSON.parse((line as string).slice('REPORT '.length)) as {
      stopped: boolean;
      intervals: string[];
      refd: string[];
    };
    expect(report.stopped).toBe(true);
    expect(report.intervals).toEqual([]);
    expect(report.refd).toEqual([]);
    expect(code, 'the process did not exit by itself within 60 s').toBe(0);
  }, 90_000);
});
