// A small declarative router on node:http. Every route states who may call it; the access
// check runs on the server for every request before the handler (the per-route access test
// enumerates ROUTES x roles). No framework: the collector's API is small and we want the
// access rule next to each route, readable in one table.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustodianError, ErrorCode, type ErrorCodeValue } from '@custodian/protocol';
import { type CompiledSchema, compileSchema, type Input, type RouteSchema } from './schema.ts';

/** Staff roles (issue 7). `admin` may do everything `it` may, and manage users and policy. */
export const ROLES = ['admin', 'it', 'dsl', 'governor'] as const;
export type Role = (typeof ROLES)[number];

export type Principal =
  | {
      kind: 'staff';
      userId: string;
      username: string;
      role: Role;
      sessionId: string;
      csrfToken: string;
      /** Schools this account may see (tenancy/model.ts); absent: trust-wide. */
      schools?: readonly string[];
    }
  | { kind: 'token'; role: 'admin'; username: 'admin-token' };

/** Who an audit record or change log names: a staff user name, 'admin-token', or 'system'. */
export function actorOf(who: Principal | string | undefined): string {
  if (who === undefined) return 'system';
  if (typeof who === 'string') return who;
  return who.kind === 'staff' ? who.username : 'admin-token';
}

/** `public`: anyone (enrolment, login, the agreement text). Otherwise the roles allowed. */
export type Access = 'public' | readonly Role[];

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  principal: Principal | undefined;
  /** Parsed JSON body (for POST/PUT/PATCH/DELETE), size-limited; undefined for GET. */
  body: unknown;
  /** The route's params, query and body, checked against its `schema` (and decoded) before the handler. */
  input: { params: unknown; query: unknown; body: unknown };
  ip: string;
}

export type Handler = (ctx: RequestContext) => Promise<unknown> | unknown;

/** The context a route declared with `route()` receives: `input` typed from its schemas. */
export type TypedContext<S extends RouteSchema> = Omit<RequestContext, 'input'> & { input: Input<S> };

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path pattern with `:name` parameters, e.g. `/api/v1/devices/:id`. */
  path: string;
  access: Access;
  handler: Handler;
  /** Raw handler: the body is not read as JSON (e.g. streaming, SSE, file download). */
  raw?: boolean;
  /** State-changing routes need a CSRF token from cookie sessions; default: true for non-GET. */
  csrf?: boolean;
  /**
   * Also allowed to any caller, signed in or not, whose client address (client-ip.ts) this
   * accepts: a monitoring server on a configured address (`/metrics`, config metrics.allowFrom).
   */
  allowFrom?: (ip: string) => boolean;
  /**
   * Only the admin API token (and `allowFrom`): a staff session of any role, admin included, is
   * refused 403. For machine endpoints (`/metrics`) a browser session has no business reading.
   */
  tokenOnly?: boolean;
  /** What the route accepts (params, query, body) and answers; checked before the handler (schema.ts). */
  schema?: RouteSchema;
  /**
   * Tenancy (collector/src/tenancy/README.md). Absent: trust-wide — a school-scoped staff account
   * is refused (403), so a new route cannot leak another school's data by default. `school`: the
   * handler limits what it returns or acts on to the caller's schools (tenancy/scope.ts).
   * `none`: it holds no school's data (the caller's own account, sign-out).
   */
  tenancy?: 'school' | 'none';
}

/**
 * Declares a route with its schemas: the handler gets `ctx.input` typed from them, already checked.
 * This is the way to add a route (collector/README.md, "How to add a route").
 */
export function route<S extends RouteSchema>(
  r: Omit<Route, 'handler' | 'schema'> & {
    schema: S;
    handler: (ctx: TypedContext<S>) => Promise<unknown> | unknown;
  },
): Route {
  return r as unknown as Route;
}

export class HttpError extends CustodianError {
  readonly status: number;
  constructor(status: number, code: ErrorCodeValue, message: string, details?: Record<string, unknown>) {
    super(code, message, details ? { details } : undefined);
    this.status = status;
  }
}

export const notFound = (what: string) => new HttpError(404, ErrorCode.NOT_FOUND, `${what} not found`);
export const badInput = (message: string, details?: Record<string, unknown>) =>
  new HttpError(400, ErrorCode.INVALID_INPUT, message, details);

/** A route parameter must be a plain id: no path separators, no dots, bounded length. */
export const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

interface Compiled {
  route: Route;
  regex: RegExp;
  names: string[];
  checks: CompiledSchema | undefined;
}

export class Router {
  readonly routes: Route[] = [];
  private compiled: Compiled[] = [];

  add(route: Route): this {
    const names: string[] = [];
    const pattern = route.path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push(route);
    const checks = route.schema ? compileSchema(route.schema) : undefined;
    this.compiled.push({ route, regex: new RegExp(`^${pattern}$`), names, checks });
    return this;
  }

  /** Finds the route for a method and path; `methodMismatch` when the path exists with another method. */
  match(
    method: string,
    pathname: string,
  ):
    | { route: Route; params: Record<string, string>; checks: CompiledSchema | undefined }
    | 'methodMismatch'
    | undefined {
    let pathSeen = false;
    for (const c of this.compiled) {
      const m = c.regex.exec(pathname);
      if (!m) continue;
      pathSeen = true;
      if (c.route.method !== method) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < c.names.length; i++) {
        let value: string;
        try {
          value = decodeURIComponent(m[i + 1] ?? '');
        } catch {
          throw badInput(`path parameter ${c.names[i]} is not valid percent-encoding`);
        }
        if (!SAFE_ID.test(value)) throw badInput(`path parameter ${c.names[i]} is not a valid id`);
        params[c.names[i] as string] = value;
      }
      return { route: c.route, params, checks: c.checks };
    }
    return pathSeen ? 'methodMismatch' : undefined;
  }
}

/** isAllowed for one route, with its `tokenOnly` (the access test calls it for every route x caller). */
export function mayCall(
  route: Pick<Route, 'access' | 'tokenOnly'>,
  principal: Principal | undefined,
): boolean {
  if (route.tokenOnly && principal?.kind === 'staff') return false;
  return isAllowed(route.access, principal);
}

/**
 * Whether a school-scoped caller may reach a route at all: only routes that declare how they
 * keep to the caller's schools. Trust-wide callers (and public routes) always pass. Pure.
 */
export function tenancyAllows(
  route: Pick<Route, 'access' | 'tenancy'>,
  principal: Principal | undefined,
): boolean {
  if (route.access === 'public' || route.tenancy !== undefined) return true;
  return principal?.kind !== 'staff' || principal.schools === undefined;
}

/** Decides whether a principal may use a route. Pure: the access test calls it for every route x role. */
export function isAllowed(access: Access, principal: Principal | undefined): boolean {
  if (access === 'public') return true;
  if (!principal) return false;
  return access.includes(principal.role);
}
