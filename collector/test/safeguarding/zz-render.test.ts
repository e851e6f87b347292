import { writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { startHarness, userClient } from '/work/main/collector/test/auth/harness.ts';
import { makePng, seedAlert, seedDevice } from '/work/main/collector/test/safeguarding/seed.ts';
it('render', async () => {
  const h = await startHarness();
  const dsl = await userClient(h, 'dsl.render', 'dsl');
  const device = await seedDevice(h.store, { hostname: 'Y9-LAPTOP-07"><img onerror=x>' });
  const a = await seedAlert(h.store, { device, screenshot: makePng(400, 250, [40, 90, 200]), title: 'how to kms quickly \u202Efdp.exe - Google Search', context: 'how to kms quickly' });
  await dsl.req('GET', `/api/v1/alerts/${a.id}/screenshots/${a.screenshotBlobIds[0]}`);
  await dsl.req('POST', `/api/v1/alerts/${a.id}/grade`, { grade: 5, note: 'Called parents' });
  const r = await dsl.req('GET', `/api/v1/alerts/${a.id}/export`);
  writeFileSync('/tmp/acc/evidence.html', r.text);
  await h.close();
});
