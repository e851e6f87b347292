// The web console as a collector module: installs the routes that serve its static files.
// Wired in collector/src/modules.ts.
import type { AppModule } from '../app.ts';
import { registerConsole } from './routes.ts';

export const consoleModule: AppModule = {
  name: 'console',
  install(app) {
    registerConsole(app.router);
  },
};

export { CONSOLE_CSP, consoleRoutes, registerConsole } from './routes.ts';
