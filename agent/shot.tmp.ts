import { writeFileSync } from 'node:fs';
import { startX } from '../test/support/xvfb.ts';
import { captureInChild } from './src/platform/screenshot-process.ts';
const t0 = Date.now();
const x = await startX();
console.log('X up in', Date.now() - t0, x.display);
try {
await x.openWindow('how to kill myself - Google Search');
await new Promise(r=>setTimeout(r,500));
writeFileSync('/tmp/shot.png', await captureInChild(x.env, 20000));
try { await captureInChild({ ...process.env, DISPLAY: ':987' }, 20000); } catch (e) { console.log('broken display ->', (e as any).code, (e as Error).message); }
} finally { await x.stop(); }
console.log('parent still alive');
