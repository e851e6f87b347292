// In-process collector for the auth and safeguarding tests: a real level store in a temp dir (or
// PostgreSQL with CUSTODIAN_TEST_POSTGRES_URL, test/support/test-store.ts),
// the real router, authenticators and HTTP server on 127.0.0.1, with the auth and safeguarding
// modules installed exactly as the app installs them. The access test uses the real app.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestStore } from '../../../test/support/test-store.ts';
import type { App } from '../../src/app.ts';
import { type AuthModuleOptions, type InstalledAuth, installAuth } from '../../src/auth/index.ts';
import type { CollectorConfig, SecureCookies } from '../../src/config.ts';
import { createAdminTokenAuthenticator } from '../../src/enrol/admin-token.ts';
import { newSecret } from '../../src/enrol/secrets.ts';
import { Router } from '../../src/http/router.ts';
import { createHooks, createServer, type HttpLimits } from '../../src/http/server.ts';
import { LiveHub } from '../../src/live/hub.ts';
import { createLogger } from '../../src/log.ts';
import type { IncidentService } from '../../src/safeguarding/incidents.ts';
import { installSafeguarding } from '../../src/safeguarding/index.ts';
import { sha256Hex } from '../../src/store/records.ts';
import type { Store } from '../../src/store/types.ts';

/** Cheap scrypt for tests (the production cost is exercised by the password unit test). */
export const TEST_SCRYPT = { N: 1 << 10, r: 8, p: 1 };

export interface Harness {
  url: string;
  store: Store;
  adminToken: string;
  firstAdmin: { username: string; password: string };
  auth: InstalledAuth;
  incidents: IncidentService;
  live: LiveHub;
  /** Moves the auth clock (sessions, throttle). */
  advance(ms: number): void;
  close(): Promise<void>;
}

export async function startHarness(
  options: AuthModuleOptions & { secureCookies?: SecureCookies; http?: Partial<HttpLimits> } = {},
): Promise<Harness> {
  const { secureCookies = 'auto', http, ...authOptions } = options;
  const dir = await mkdtemp(join(tmpdir(), 'custodian-auth-'));
  const store = await openTestStore(dir, randomBytes(32));
  let offset = 0;
  const now = () => Date.now() + offset;
  const router = new Router();
  const hooks = createHooks();
  const adminToken = newSecret();
  await store.enrol.setAdminTokenHash(sha256Hex(adminToken));
  hooks.authenticators.push(createAdminTokenAuthenticator(store));
  const log = createLogger('silent');
  const live = new LiveHub();
  let firstAdmin: { username: string; password: string } | undefined;
  const audit: App['audit'] = (who, action, target, details, ip) =>
    store.audit.append({
      actor: typeof who === 'string' ? who : who === undefined ? 'system' : who.username,
      action,
      target,
      ...(details ? { details } : {}),
      ...(ip ? { ip } : {}),
    });
  const auth = await installAuth(
    {
      store,
      router,
      authenticators: hooks.authenticators,
      config: { tls: undefined, secureCookies } as CollectorConfig,
      log,
      audit,
    },
    {
      scrypt: TEST_SCRYPT,
      now,
      onFirstAdmin: (c) => {
        firstAdmin = c;
      },
      // Password only unless a test asks for the production default (admin, dsl need TOTP).
      mfaRequiredRoles: [],
      ...authOptions,
    },
  );
  const { incidents } = installSafeguarding({ store, router, live }, now);
  const server: Server = createServer({ router, hooks, log, ...(http ? { limits: http } : {}) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  if (!firstAdmin) throw new Error('first admin was not created');
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    adminToken,
    firstAdmin,
    auth,
    incidents,
    live,
    advance(ms) {
      offset += ms;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API returns and assert on it.
  json: any;
  text: string;
  bytes: Uint8Array;
}

/** A browser-like client: keeps the session cookie and sends the CSRF header it was given. */
export class Client {
  readonly base: string;
  cookie: string | undefined;
  csrf: string | undefined;
  bearer: string | undefined;
  constructor(base: string, bearer?: string) {
    this.base = base;
    this.bearer = bearer;
  }

  async req(
    method: string,
    path: string,
    body?: unknown,
    opts: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (method !== 'GET' && this.csrf && opts.csrf !== false) headers['x-csrf-token'] = this.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, value] = (pair as string).split('=');
      if (name === 'custodian_session' || name === '__Host-custodian_session')
        this.cookie = value ? `${name}=${value}` : undefined;
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = Buffer.from(bytes).toString('utf8');
    let json: unknown;
    if ((res.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(text);
    return { status: res.status, headers: res.headers, json, text, bytes };
  }

  async login(username: string, password: string): Promise<Reply> {
    const r = await this.req('POST', '/api/v1/auth/login', { username, password });
    if (r.status === 200) this.csrf = r.json.csrfToken;
    return r;
  }
}

export const STRONG = 'correct horse battery staple';

/** Per collector (keyed by its admin token): the first DSL, who approves later DSL accounts. */
const dslApprovers = new Map<string, Client>();

/**
 * Creates a staff account with the admin token and returns a signed-in client whose password is
 * `password`. A `dsl` account cannot be given a password by an admin (issue 10 item 6): the first
 * one is the bootstrap (one-time password in the 201), later ones are approved by the first DSL
 * (one-time password in the approval); either way the new DSL signs in and changes it.
 */
export async function createStaffClient(
  base: string,
  adminToken: string,
  username: string,
  role: string,
  password = STRONG,
  /** Tenancy: the account's schools (not for a `dsl`: a DSL of some schools is asked for and approved). */
  schools?: string[],
): Promise<Client> {
  const admin = new Client(base, adminToken);
  const c = new Client(base);
  if (role !== 'dsl') {
    const created = await admin.req('POST', '/api/v1/users', {
      username,
      role,
      password,
      mustChangePassword: false,
      ...(schools ? { schools } : {}),
    });
    if (created.status !== 201) throw new Error(`create ${username}: ${created.status} ${created.text}`);
    const r = await c.login(username, password);
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
    return c;
  }
  const created = await admin.req('POST', '/api/v1/users', { username, role });
  let oneTime: string;
  if (created.status === 201) oneTime = created.json.oneTimePassword;
  else if (created.status === 202) {
    const approver = dslApprovers.get(adminToken);
    if (!approver)
      throw new Error(`create ${username}: a request was queued but no DSL is known to approve it`);
    const ok = await approver.req('POST', `/api/v1/dsl-requests/${created.json.request.id}/approve`);
    if (ok.status !== 200) throw new Error(`approve ${username}: ${ok.status} ${ok.text}`);
    oneTime = ok.json.oneTimePassword;
  } else throw new Error(`create ${username}: ${created.status} ${created.text}`);
  const first = await c.login(username, oneTime);
  if (first.status !== 200 || first.json.mustChangePassword !== true)
    throw new Error(`first login ${username}: ${first.status} ${first.text}`);
  const changed = await c.req('POST', '/api/v1/auth/password', {
    currentPassword: oneTime,
    newPassword: password,
  });
  if (changed.status !== 200)
    throw new Error(`password change ${username}: ${changed.status} ${changed.text}`);
  if (!dslApprovers.has(adminToken)) {
    // A session of its own, so a test that signs `c` out does not take the approver with it.
    const approver = new Client(base);
    if ((await approver.login(username, password)).status === 200) dslApprovers.set(adminToken, approver);
  }
  return c;
}

/** Creates a user with the admin token and returns a signed-in client for them. */
export async function userClient(h: Harness, username: string, role: string): Promise<Client> {
  return createStaffClient(h.url, h.adminToken, username, role);
}
