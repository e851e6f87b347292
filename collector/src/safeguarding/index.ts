// Safeguarding as a collector module: the DSL's alert queue and decisions, screenshots (audited
// views), incidents, evidence export, and the termly reports. Wired in modules.ts.
import type { App, AppModule } from '../app.ts';
import { alertRoutes } from './alert-routes.ts';
import { watchCapture } from './capture-watch.ts';
import { incidentRoutes } from './incident-routes.ts';
import { type Incident, IncidentService } from './incidents.ts';
import { reportRoutes } from './report-routes.ts';

export function installSafeguarding(
  app: Pick<App, 'store' | 'router' | 'live'> & Partial<Pick<App, 'screens'>> & { log?: App['log'] },
): {
  incidents: IncidentService;
  /** Stops the capture watcher (app.stop). */
  stop: () => void;
} {
  const incidents = new IncidentService(app.store.kv<Incident>('incidents'));
  const deps = {
    store: app.store,
    incidents,
    live: app.live,
    ...(app.screens ? { screens: app.screens } : {}),
  };
  // `/api/v1/alerts/live` is added before `/api/v1/alerts/:id` so the literal path wins.
  for (const route of [...alertRoutes(deps), ...incidentRoutes(deps), ...reportRoutes(deps)])
    app.router.add(route);
  const stopWatch = watchCapture({ store: app.store, live: app.live, log: app.log });
  return { incidents, stop: stopWatch };
}

export const safeguardingModule: AppModule = {
  name: 'safeguarding',
  install(app) {
    app.onStop(installSafeguarding(app).stop);
  },
};
