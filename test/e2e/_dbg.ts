import { startCollector } from '../support/collector-process.ts';
import { TestAgent } from './console-helpers.ts';

const c = await startCollector();
try {
  const ac = new AbortController();
  const sse = fetch(`${c.url}/api/v1/live`, {
    headers: { authorization: `Bearer ${c.adminToken}` },
    signal: ac.signal,
  })
    .then(async (r) => {
      const reader = r.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        process.stdout.write('SSE: ' + new TextDecoder().decode(value).slice(0, 300) + '\n');
      }
    })
    .catch(() => {});
  const a = await TestAgent.enrol(c, 'dbg');
  await a.connect();
  await a.send({ heartbeat: { uptimeSeconds: 1, loggedInUser: 'x' } });
  const get = async () =>
    (
      await fetch(`${c.url}/api/v1/devices/${a.deviceId}`, {
        headers: { authorization: `Bearer ${c.adminToken}` },
      })
    ).json();
  console.log('before', JSON.stringify((await get()).status?.connected));
  await a.disconnect();
  await new Promise((r) => setTimeout(r, 1500));
  console.log('after', JSON.stringify((await get()).status));
  ac.abort();
} finally {
  await c.cleanup();
}
