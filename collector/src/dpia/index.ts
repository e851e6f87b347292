// The DPIA draft as a collector module (issue 19 item 8): generated from the live configuration,
// versioned with a diff on every change. Wired in modules.ts; installed after the other modules
// so its role matrix sees their routes (it reads the router again at each regeneration anyway).
import type { AppModule } from '../app.ts';
import { dpiaRoutes } from './routes.ts';
import { DpiaService } from './service.ts';

export const dpiaModule: AppModule = {
  name: 'dpia',
  async install(app) {
    const dpia = new DpiaService(app);
    for (const r of dpiaRoutes({ store: app.store, dpia })) app.router.add(r);
    const onPolicy = () => {
      void dpia
        .regenerate('policy')
        .catch((err: unknown) => app.log.error({ err }, 'DPIA regeneration failed'));
    };
    app.live.on('policy', onPolicy);
    // A restart with other settings (retention, TLS, data directory) is a change too.
    await dpia.regenerate('start');
    app.onStop(async () => {
      app.live.off('policy', onPolicy);
      // A regeneration still writing must finish before the store closes.
      await dpia.idle();
    });
  },
};
