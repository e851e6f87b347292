import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLevelStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { storeSuite } from './store-suite.ts';

const dirs = new Map<Store, string>();
storeSuite('level', {
  open: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-store-'));
    const store = await openLevelStore(dir, randomBytes(32));
    dirs.set(store, dir);
    return store;
  },
  dispose: async (s) => {
    await s.close();
    rmSync(dirs.get(s) as string, { recursive: true, force: true });
  },
});
