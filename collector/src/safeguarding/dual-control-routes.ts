// Dual control over HTTP (dual-control.ts): the school's setting, a DSL's request to reveal an
// alert's screenshots, a second DSL's approval or rejection. Safeguarding role only.
import { Type } from '@sinclair/typebox';
import { notFound, type Principal, type Route, route } from '../http/router.ts';
import { Body, IdParams, Literals, Reason, Text } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import { alertInScope, recordInScope } from '../tenancy/scope.ts';
import type { DualControl } from './dual-control.ts';
import { DualControlFields, type RevealState } from './dual-control-rules.ts';
import { SAFEGUARDING } from './roles.ts';

const STATES: readonly RevealState[] = ['pending', 'approved', 'rejected', 'expired', 'used'];

export function dualControlRoutes(deps: { store: Store; dualControl: DualControl }): Route[] {
  const { store, dualControl } = deps;
  // Tenancy: a request belongs to its alert's school; the settings are the trust's (read by all DSLs).
  const requestVisible = async (alertId: string, principal: Principal | undefined) => {
    const a = await store.alerts.get(alertId);
    return a !== undefined && recordInScope(principal, a);
  };
  const requestInScope = async (id: string, principal: Principal | undefined) => {
    const r = (await dualControl.list()).find((x) => x.id === id);
    if (r && !(await requestVisible(r.alertId, principal))) throw notFound('reveal request');
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/dual-control/settings',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: { summary: 'Dual control for revealing screenshots: on or off, threshold, windows' },
      handler: async () => ({
        settings: await dualControl.settings(),
        pending: (await dualControl.pendingChange()) ?? null,
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/dual-control/settings',
      access: SAFEGUARDING,
      schema: {
        body: Body({ ...DualControlFields, reason: Reason() }),
        summary: 'Change dual control: tightening applies now; loosening it waits for a second DSL (202)',
      },
      handler: async (ctx) => {
        const { reason, ...next } = ctx.input.body;
        const out = await dualControl.setSettings(next, reason, ctx.principal, ctx.ip);
        if (out.pending) ctx.res.statusCode = 202;
        return out;
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/dual-control/settings/approve',
      access: SAFEGUARDING,
      schema: {
        body: Body({}),
        summary: "Approve another DSL's waiting change that loosens dual control",
      },
      handler: async (ctx) => ({
        settings: await dualControl.approveChange(ctx.principal, ctx.ip),
        pending: null,
      }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/dual-control/requests',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: {
        query: Type.Object({
          state: Type.Optional(Literals(STATES, 'only requests in this state now')),
        }),
        summary: 'Requests to reveal screenshots, newest first, with their state now',
      },
      handler: async (ctx) => {
        const all = [];
        for (const r of await dualControl.list())
          if (await requestVisible(r.alertId, ctx.principal)) all.push(dualControl.view(r));
        const { state } = ctx.input.query;
        return { requests: state ? all.filter((r) => r.stateNow === state) : all };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/alerts/:id/reveal-access',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: {
        params: IdParams('alert'),
        summary: "Whether revealing this alert's screenshots needs a second DSL, and the caller's request",
      },
      handler: async (ctx) => {
        const alert = await alertInScope(store, ctx.principal, ctx.input.params.id);
        return dualControl.access(alert, ctx.principal);
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/alerts/:id/reveal-requests',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: {
        params: IdParams('alert'),
        body: Body({ reason: Reason('why you need to see the screenshots (the approving DSL reads it)') }),
        summary: "Ask a second DSL to approve revealing this alert's screenshots",
      },
      handler: async (ctx) => {
        const alert = await alertInScope(store, ctx.principal, ctx.input.params.id);
        const request = await dualControl.request(alert, ctx.input.body.reason, ctx.principal, ctx.ip);
        ctx.res.statusCode = 201;
        return { request: dualControl.view(request) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/dual-control/requests/:id/approve',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: {
        params: IdParams('reveal request'),
        body: Body({}),
        summary: "Approve another DSL's request (never your own; within the approval window)",
      },
      handler: async (ctx) => {
        await requestInScope(ctx.input.params.id, ctx.principal);
        return {
          request: dualControl.view(await dualControl.approve(ctx.input.params.id, ctx.principal, ctx.ip)),
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/dual-control/requests/:id/reject',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: {
        params: IdParams('reveal request'),
        body: Body({ reason: Type.Optional(Text(0, 500, 'why (the requester sees it)')) }),
        summary: "Reject another DSL's request",
      },
      handler: async (ctx) => {
        await requestInScope(ctx.input.params.id, ctx.principal);
        return {
          request: dualControl.view(
            await dualControl.reject(ctx.input.params.id, ctx.input.body.reason ?? '', ctx.principal, ctx.ip),
          ),
        };
      },
    }),
  ];
}
