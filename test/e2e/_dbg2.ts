import { startCollector } from '../support/collector-process.ts';
import { enrolAgent, startAgent } from '../support/agent-process.ts';
import { startX } from '../support/xvfb.ts';
import { createStaff, staffSession } from './console-helpers.ts';
const c = await startCollector();
const x = await startX();
try {
  const e = await enrolAgent({ collector: c });
  const a = await startAgent({ dataDir: e.dataDir, args: ['--demo'], env: x.env });
  await x.openWindow('how to kill myself painlessly - Google Search');
  const dsl = await staffSession(c, await createStaff(c, 'dsl1', 'dsl'));
  for (let i = 0; i < 30; i++) {
    const r = await dsl('GET', '/alerts');
    if (r.data.alerts?.length) { console.log(JSON.stringify(r.data.alerts[0]).slice(0, 600)); const d = await dsl('GET', `/alerts/${r.data.alerts[0].id}`); console.log(JSON.stringify(d.data.screenshots)); break; }
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(a.logs().split('\n').filter((l) => /capture|screenshot|flag/i.test(l)).slice(0, 8).join('\n'));
  await a.stop(); await e.cleanup();
} finally { await x.stop(); await c.cleanup(); }
