// Child process for app-stop.test.ts: runs the whole collector (every module), opens the
// long-lived feeds a console holds, stops the app, then reports what is still alive and
// returns from its top level without calling process.exit: it must end on its own.
// Every setInterval is tracked (unref'd ones too: an unref'd timer still runs its work after
// stop, e.g. a session sweep on a closed store).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Map<unknown, string>();
const realSet = globalThis.setInterval;
const realClear = globalThis.clearInterval;
globalThis.setInterval = ((fn: () => void, ms?: number) => {
  const handle = realSet(fn, ms);
  live.set(handle, `${ms} ms: ${new Error().stack?.split('\n')[2]?.trim() ?? ''}`);
  return handle;
}) as typeof setInterval;
globalThis.clearInterval = ((handle: Parameters<typeof clearInterval>[0]) => {
  live.delete(handle);
  realClear(handle);
}) as typeof clearInterval;

const { createApp } = await import('../src/app.ts');
const { defaultConfig } = await import('../src/config.ts');
const { createLogger } = await import('../src/log.ts');

const dir = mkdtempSync(join(tmpdir(), 'custodian-stop-'));
const config = { ...defaultConfig(join(dir, 'data')), port: 0, screenshotKeyFile: join(dir, 'key') };
const token = 'stop-test-admin-token-0123456789abcdef';
const app = await createApp({
  config,
  log: createLogger('silent'),
  env: { CUSTODIAN_ADMIN_TOKEN: token },
});
const { url } = await app.start();
const feed = await fetch(`${url}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } });
const reader = (feed.body as ReadableStream<Uint8Array>).getReader();
await reader.read();
await app.stop();
await reader.cancel().catch(() => undefined);
const refd = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate');
process.stdout.write(`REPORT ${JSON.stringify({ stopped: true, intervals: [...live.values()], refd })}\n`);
