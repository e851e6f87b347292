// Safeguarding as a collector module: the DSL's alert queue and decisions, screenshots (audited
// views), incidents, evidence export, and the termly reports. Wired in modules.ts.
import type { App, AppModule } from '../app.ts';
import { DEFAULT_SCHOOL_ID } from '../tenancy/model.ts';
import { alertRoutes } from './alert-routes.ts';
import { watchCapture } from './capture-watch.ts';
import { DualControl } from './dual-control.ts';
import { dualControlRoutes } from './dual-control-routes.ts';
import { exportRoutes } from './export-routes.ts';
import { incidentRoutes } from './incident-routes.ts';
import { type Incident, IncidentService } from './incidents.ts';
import { reportRoutes } from './report-routes.ts';

export function installSafeguarding(
  app: Pick<App, 'store' | 'router' | 'live'> &
    Partial<Pick<App, 'screens' | 'schools'>> & { log?: App['log'] },
  /** The clock of dual control's windows (tests move it). */
  now: () => number = Date.now,
): {
  incidents: IncidentService;
  /** Stops the capture watcher (app.stop). */
  stop: () => void;
} {
  const incidents = new IncidentService(app.store.kv<Incident>('incidents'));
  const dualControl = new DualControl(app.store, now);
  const deps = {
    store: app.store,
    incidents,
    dualControl,
    gate: dualControl,
    live: app.live,
    // Tenancy: hosts without the registry (unit tests) know only the default school.
    schoolExists: app.schools
      ? (id: string) => (app.schools as NonNullable<App['schools']>).exists(id)
      : async (id: string) => id === DEFAULT_SCHOOL_ID,
    ...(app.screens ? { screens: app.screens } : {}),
  };
  // `/api/v1/alerts/live` is added before `/api/v1/alerts/:id` so the literal path wins.
  for (const route of [
    ...alertRoutes(deps),
    ...incidentRoutes(deps),
    ...reportRoutes(deps),
    ...exportRoutes(deps),
    ...dualControlRoutes(deps),
  ])
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
