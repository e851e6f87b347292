import { openMemoryStore } from '../../src/store/index.ts';
import { storeSuite } from './store-suite.ts';

storeSuite('memory', {
  open: async () => openMemoryStore(),
  dispose: (s) => s.close(),
});
