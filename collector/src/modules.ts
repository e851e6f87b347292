// Feature modules installed into the collector at start, in this order. Each module adds
// routes to `app.router`, authenticators to `app.hooks.authenticators`, fallbacks (static
// console files) to `app.hooks.fallbacks`, and may listen on `app.live`.
//
// Other teams: add ONE line here for your module, e.g.
//   import { authModule } from './auth/index.ts';  ...  export const MODULES = [authModule, ...];
import type { AppModule } from './app.ts';
import { authModule } from './auth/index.ts';
import { consoleModule } from './console/index.ts';
import { dataProtectionModule } from './data-protection/index.ts';
import { dpiaModule } from './dpia/index.ts';
import { extensionModule } from './extension/index.ts';
import { healthModule } from './health/index.ts';
import { notifyModule } from './notify/index.ts';
import { safeguardingModule } from './safeguarding/index.ts';

export const MODULES: AppModule[] = [
  authModule,
  safeguardingModule,
  notifyModule,
  dataProtectionModule,
  extensionModule,
  healthModule,
  dpiaModule,
  consoleModule,
];
