// Data protection as a collector module: subject access archives and erasure on request
// (issue 19 item 3). Retention for every record and the safeguarding hold live in retention/.
import type { AppModule } from '../app.ts';
import { dataProtectionRoutes } from './routes.ts';

export const dataProtectionModule: AppModule = {
  name: 'data-protection',
  install(app) {
    for (const r of dataProtectionRoutes(app)) app.router.add(r);
  },
};
