// The HTTP(S) server: routes from the Router, authentication by a chain of authenticators, the
// access rule of every route checked before its handler, CSRF for cookie sessions, JSON bodies
// and JSON errors. WebSocket upgrades are handed to the handler registered for their path.

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { CustodianError, ErrorCode, type ErrorCodeValue } from '@custodian/protocol';
import type { Logger } from 'pino';
import { clientIp, normalizeIp } from './client-ip.ts';
import {
  HttpError,
  mayCall,
  type Principal,
  type RequestContext,
  type Router,
  tenancyAllows,
} from './router.ts';
import { type CompiledSchema, queryObject, validate } from './schema.ts';

/** Returns the principal a request proves, undefined if it carries no credential of this kind, or throws HttpError 401 for a bad one. */
export type Authenticator = (req: IncomingMessage) => Promise<Principal | undefined> | Principal | undefined;
/** Decides whether a state-changing request from a cookie session carries a valid CSRF token. */
export type CsrfCheck = (ctx: RequestContext) => boolean | Promise<boolean>;
/** Handles a request no route matched (static console files); resolves true when it answered. */
export type HttpFallback = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => Promise<boolean> | boolean;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpHooks {
  /** Tried in order; the first that returns a principal wins. The admin-token authenticator is first. */
  authenticators: Authenticator[];
  csrfCheck: CsrfCheck;
  fallbacks: HttpFallback[];
  /** WebSocket upgrade handlers by exact path (`/ws/agent` is ingest). */
  upgrades: Map<string, UpgradeHandler>;
}

export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** Default CSRF rule: header `x-csrf-token` equal to the session's token. The auth module may replace it. */
export const headerCsrfCheck: CsrfCheck = (ctx) => {
  if (ctx.principal?.kind !== 'staff') return true;
  const sent = ctx.req.headers['x-csrf-token'];
  if (typeof sent !== 'string' || sent.length === 0) return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(ctx.principal.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
};

export function createHooks(): HttpHooks {
  return { authenticators: [], csrfCheck: headerCsrfCheck, fallbacks: [], upgrades: new Map() };
}

export interface ServerOptions {
  router: Router;
  hooks: HttpHooks;
  log: Logger;
  tls?: { certFile: string; keyFile: string } | undefined;
  /** Slow-client limits and the trusted reverse proxies (config `http.*`); defaults from defaultConfig. */
  limits?: Partial<HttpLimits>;
}

export interface HttpLimits {
  trustedProxies: readonly string[];
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  trustedProxies: [],
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  maxConnections: 5_000,
};

export function createServer(options: ServerOptions): Server {
  const { router, hooks, log } = options;
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const trusted = new Set(limits.trustedProxies.map(normalizeIp));
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, router, hooks, log, trusted).catch((err) => {
      log.error({ err, code: ErrorCode.INTERNAL }, 'http handler crashed');
      if (!res.headersSent) sendError(res, 500, ErrorCode.INTERNAL, 'internal error');
      else res.destroy();
    });
  };
  // Slow clients: headers must arrive within headersTimeoutMs and the whole request within
  // requestTimeoutMs (a slowloris trickle is answered 408 and closed); node checks these timers
  // every connectionsCheckingInterval, so check often enough to enforce them near their value.
  // Long-lived responses (SSE) are not affected: the timers stop once the request is read.
  const timeouts = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
  const server = options.tls
    ? createHttpsServer(
        { ...timeouts, cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) },
        onRequest,
      )
    : createHttpServer(timeouts, onRequest);
  // Past this many open sockets (HTTP, SSE, WebSocket) node closes new ones at once.
  server.maxConnections = limits.maxConnections;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node takes the HTTP server's error handler off a socket it hands to 'upgrade': without
    // one, a client resetting the connection after a refusal written straight to the socket
    // (404 here, the ingest's 503s) is an unhandled 'error' event and the process exits
    // (test/e2e/collector-upgrade-reset.test.ts). A reset socket is simply gone.
    socket.on('error', (err) => log.debug({ err: err.message }, 'upgrade socket error'));
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handler = hooks.upgrades.get(path);
    if (!handler) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    handler(req, socket, head);
  });
  server.on('clientError', (err, socket) => {
    log.debug({ err: (err as Error).message }, 'http client error');
    const timedOut = (err as NodeJS.ErrnoException).code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (socket.writable)
      socket.end(
        timedOut
          ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
          : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n',
      );
    else socket.destroy();
  });
  return server;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  router: Router,
  hooks: HttpHooks,
  log: Logger,
  trustedProxies: ReadonlySet<string>,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    sendError(res, 400, ErrorCode.INVALID_INPUT, 'bad request URL');
    return;
  }
  try {
    const matched = router.match(req.method ?? 'GET', url.pathname);
    if (matched === undefined) {
      for (const fallback of hooks.fallbacks) if (await fallback(req, res, url)) return;
      throw new HttpError(404, ErrorCode.NOT_FOUND, `no route for ${url.pathname}`);
    }
    if (matched === 'methodMismatch') {
      throw new HttpError(405, ErrorCode.INVALID_INPUT, `method ${req.method} not allowed here`);
    }
    const { route, params, checks } = matched;
    let principal: Principal | undefined;
    for (const auth of hooks.authenticators) {
      principal = await auth(req);
      if (principal) break;
    }
    const ip = clientIp(req, trustedProxies);
    if (!mayCall(route, principal) && !route.allowFrom?.(ip)) {
      throw principal
        ? new HttpError(403, ErrorCode.FORBIDDEN, 'your role may not do this')
        : new HttpError(401, ErrorCode.UNAUTHENTICATED, 'sign in or send the admin token');
    }
    if (!tenancyAllows(route, principal))
      throw new HttpError(
        403,
        ErrorCode.FORBIDDEN,
        'this is trust-wide: an account limited to some schools may not do this',
      );
    const ctx: RequestContext = {
      req,
      res,
      url,
      params,
      principal,
      body: undefined,
      input: { params, query: undefined, body: undefined },
      ip,
    };
    const stateChanging = route.method !== 'GET';
    if (
      stateChanging &&
      (route.csrf ?? true) &&
      principal?.kind === 'staff' &&
      !(await hooks.csrfCheck(ctx))
    ) {
      throw new HttpError(403, ErrorCode.CSRF, 'missing or wrong CSRF token');
    }
    if (stateChanging && !route.raw) ctx.body = await readJson(req);
    if (checks) ctx.input = checkInput(checks, ctx);
    const result = await route.handler(ctx);
    if (route.raw || res.headersSent || res.writableEnded) return;
    if (result === undefined) {
      res.writeHead(res.statusCode === 200 ? 204 : res.statusCode, securityHeaders());
      res.end();
      return;
    }
    sendJson(res, res.statusCode || 200, result);
  } catch (err) {
    const { status, code, message, field } = describeError(err);
    if (status >= 500) log.error({ err, code, path: url.pathname }, 'http request failed');
    else
      log.info(
        { code, status, path: url.pathname, method: req.method, msg2: message },
        'http request refused',
      );
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, status, code, message, field);
  }
}

/** A route's declared params, query and body, checked and decoded; throws 400 naming the field. */
function checkInput(c: CompiledSchema, ctx: RequestContext): RequestContext['input'] {
  // An empty body is an empty object: `POST /enrol/codes` with no body means "the defaults".
  const body = ctx.body === undefined ? {} : ctx.body;
  return {
    params: c.params ? validate(c.params, ctx.params, 'params') : ctx.params,
    query: c.query ? validate(c.query, queryObject(ctx.url, c), 'query') : undefined,
    body: c.body ? validate(c.body, body, 'body') : ctx.body,
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY_BYTES)
      throw new HttpError(413, ErrorCode.INVALID_INPUT, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    throw new HttpError(415, ErrorCode.INVALID_INPUT, 'send JSON with content-type application/json');
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
  } catch {
    throw new HttpError(400, ErrorCode.INVALID_INPUT, 'request body is not valid UTF-8 JSON');
  }
}

const STATUS_BY_CODE: Partial<Record<ErrorCodeValue, number>> = {
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.INVALID_INPUT]: 400,
  [ErrorCode.INVALID_POLICY]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.AUTH_FAILED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.CSRF]: 403,
  [ErrorCode.BAD_ENROL_SECRET]: 403,
  [ErrorCode.BAD_ENROL_CODE]: 403,
  [ErrorCode.AGREEMENT_NOT_ACCEPTED]: 400,
  [ErrorCode.DEVICE_REVOKED]: 403,
  [ErrorCode.ENROL_DENIED]: 403,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.STORAGE]: 503,
  [ErrorCode.UNAVAILABLE]: 503,
  [ErrorCode.DEVICE_OFFLINE]: 409,
};

export function describeError(err: unknown): {
  status: number;
  code: ErrorCodeValue;
  message: string;
  field?: string;
} {
  if (err instanceof HttpError) {
    const field = err.details?.['field'];
    return {
      status: err.status,
      code: err.code,
      message: err.message,
      ...(typeof field === 'string' ? { field } : {}),
    };
  }
  if (err instanceof CustodianError) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    // Storage failures can carry paths; say less to the client.
    return {
      status,
      code: err.code,
      message: status >= 500 ? 'the collector could not complete this' : err.message,
    };
  }
  // Not a CustodianError: a bug in a handler, not a storage failure (the log has the stack).
  return { status: 500, code: ErrorCode.INTERNAL, message: 'internal error' };
}

function securityHeaders(): Record<string, string> {
  return { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...securityHeaders(),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  field?: string,
): void {
  sendJson(res, status, { error: { code, message, ...(field ? { field } : {}) } });
}
