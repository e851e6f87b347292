// Configuration: defaults, then the config file (JSON), then environment variables, then CLI
// flags. Validated once at start; a bad value stops the process with a message naming the field.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CustodianError, ErrorCode, HELLO_DEADLINE_MS } from '@custodian/protocol';

export const SECURE_COOKIES = ['auto', 'always', 'never'] as const;
export type SecureCookies = (typeof SECURE_COOKIES)[number];

/**
 * What IT staff (and admins, the admin token) see of a device's browsing in live status, device
 * lists, timelines and the live feed. The DSL always sees full titles and URLs; text matching the
 * safeguarding library is the DSL's only, whatever this says.
 */
export const IT_BROWSING_DETAIL = ['app-and-domain', 'full-title'] as const;
export type ItBrowsingDetail = (typeof IT_BROWSING_DETAIL)[number];

/** Where the collector keeps its data: embedded level under `<dataDir>/db`, or a PostgreSQL database. */
export const STORES = ['level', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

export interface CollectorConfig {
  dataDir: string;
  /** `level` (default): one process, embedded; `postgres`: the database at `postgres.url`. */
  store: StoreKind;
  postgres: {
    /**
     * `postgresql://user:password@host:port/db` (libpq URL; `?sslmode=...` as libpq). A secret:
     * give it in the config file (0600) or CUSTODIAN_POSTGRES_URL, never on the command line;
     * never logged (messages show it with the password as `***`).
     */
    url: string;
    /** Connections in the collector's pool (the one-writer lock holds one more). */
    poolMax: number;
  };
  host: string;
  port: number;
  /** URL agents should use (returned by enrolment). Default: derived from host/port/TLS. */
  publicUrl: string;
  tls: { certFile: string; keyFile: string } | undefined;
  /**
   * `Secure` on the session cookie: `auto` = only when this process serves TLS; `always` behind
   * a TLS-terminating reverse proxy (the browser sees https, we see http); `never` for local tests.
   */
  secureCookies: SecureCookies;
  /**
   * `app-and-domain` (default): IT sees the app and the site's domain, no window title and no
   * path or query; `full-title`: IT sees titles and URLs too (still never text the library matches).
   */
  itBrowsingDetail: ItBrowsingDetail;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** File holding the AES-256-GCM screenshot key; default `<dataDir>/../custodian-screenshot.key`. */
  screenshotKeyFile: string;
  ingest: {
    helloDeadlineMs: number;
    /** Close a session with no frame and no pong for this long. */
    idleTimeoutMs: number;
    pingIntervalMs: number;
    /** Bytes of received-but-not-yet-durable frames per connection before reading pauses. */
    maxInFlightBytes: number;
    /**
     * The same over every connection together: past it, a connection whose frame arrives stops
     * being read until the total is back under half (with maxInFlightBytes per connection alone,
     * 2,000 agents could hold 16 GiB).
     */
    maxInFlightBytesTotal: number;
    /** How long the group commit waits to gather batches before one synced write. */
    commitTickMs: number;
  };
  retention: {
    timelineDays: number;
    screenshotDays: number;
    purgeIntervalMinutes: number;
    /** Chunks of an upload never completed (collector crashed mid-upload) go after this long. */
    incompleteUploadHours: number;
    /** A retired device's timeline and unreferenced screenshots go this long after retirement. */
    retiredDays: number;
    /**
     * Alerts by outcome, counted from the DSL's last decision (from creation while unreviewed).
     * Anything linked to an incident that is open or under monitoring (safeguarding hold) is kept
     * whatever its age. The alert's flaggedActivity event goes with the timeline (timelineDays).
     */
    alertFalsePositiveDays: number;
    alertGradedDays: number;
    alertEscalatedDays: number;
    alertUnreviewedDays: number;
    /**
     * Closed incidents, counted from creation. Child-protection records are commonly kept until
     * the child is 25; the collector does not know a pupil's birth date, so the default is 25 years.
     */
    incidentDays: number;
    /** Audit records (the append-only log), notifications to staff, and the purge records themselves. */
    auditDays: number;
    notificationDays: number;
    purgeRecordDays: number;
  };
  /** Device health checks (src/health): what is checked is the school's health settings record. */
  health: {
    /** How often every device is checked (offline, unclean stop, lock/USB failures, clones, gaps). */
    checkIntervalMs: number;
  };
  enrol: {
    codeTtlHoursDefault: number;
    /**
     * A school device heard from within this many days is "live": re-enrolling its machine id
     * needs proof of its key or an admin's approval. Longer than a school holiday by default.
     */
    liveDays: number;
  };
  /** Limits of sense on policy changes made through the API (packages/policy EDIT_LIMITS). */
  policy: {
    /** Shortest idle-lock threshold anyone may set. Default 60; lower only for demos and tests. */
    minIdleLockSeconds: number;
  };
  http: {
    /**
     * Addresses of reverse proxies whose `X-Forwarded-For` is believed (exact IPs). Empty: the
     * header is ignored and the socket address is the client (throttling, audit).
     */
    trustedProxies: string[];
    /** Whole request (headers and body) must arrive within this (node's requestTimeout). */
    requestTimeoutMs: number;
    /** Request headers must arrive within this (node's headersTimeout): a header trickle is cut off. */
    headersTimeoutMs: number;
    /** Open TCP connections (HTTP, SSE, WebSocket) at once; more are refused by the kernel accept path. */
    maxConnections: number;
    /** WebSocket connections that have not yet said a valid Hello, at once. */
    maxUnauthenticatedWs: number;
    /** Open SSE streams (device feed + alert feed together) per signed-in account or token. */
    maxSseStreamsPerUser: number;
  };
  metrics: {
    /**
     * Addresses (IPs or CIDR ranges) that may read `/metrics` without the admin token, e.g. the
     * Prometheus server. Empty (default): the admin token (or an admin's session) only.
     */
    allowFrom: string[];
  };
  auth: {
    /** Password checks hashing at the same time, collector-wide (scrypt uses libuv's pool). */
    maxConcurrentPasswordChecks: number;
    /** Password checks running or queued from one client address. */
    maxPasswordChecksPerIp: number;
    /** A staff session ends after this long without a request (server-side). */
    sessionIdleMs: number;
    /**
     * Roles whose local (password) accounts must use TOTP — default admin and dsl (issue 19). The
     * sign-in settings record can add roles, not remove these. Only an isolated test or lab setup
     * empties it.
     */
    mfaRequiredRoles: Array<'admin' | 'it' | 'dsl' | 'governor'>;
  };
}

export function defaultConfig(dataDir: string): CollectorConfig {
  const abs = resolve(dataDir);
  return {
    dataDir: abs,
    store: 'level',
    postgres: { url: '', poolMax: 10 },
    host: '127.0.0.1',
    port: 8443,
    publicUrl: '',
    tls: undefined,
    secureCookies: 'auto',
    itBrowsingDetail: 'app-and-domain',
    logLevel: 'info',
    screenshotKeyFile: join(dirname(abs), 'custodian-screenshot.key'),
    ingest: {
      helloDeadlineMs: HELLO_DEADLINE_MS,
      idleTimeoutMs: 120_000,
      pingIntervalMs: 30_000,
      maxInFlightBytes: 8 * 1024 * 1024,
      maxInFlightBytesTotal: 64 * 1024 * 1024,
      commitTickMs: 2,
    },
    retention: {
      timelineDays: 90,
      screenshotDays: 30,
      purgeIntervalMinutes: 60,
      incompleteUploadHours: 24,
      retiredDays: 30,
      alertFalsePositiveDays: 30,
      alertGradedDays: 365,
      alertEscalatedDays: 9_125,
      alertUnreviewedDays: 365,
      incidentDays: 9_125,
      auditDays: 2_557,
      notificationDays: 365,
      purgeRecordDays: 2_557,
    },
    health: { checkIntervalMs: 60_000 },
    enrol: { codeTtlHoursDefault: 72, liveDays: 90 },
    policy: { minIdleLockSeconds: 60 },
    http: {
      trustedProxies: [],
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      maxConnections: 5_000,
      maxUnauthenticatedWs: 200,
      maxSseStreamsPerUser: 4,
    },
    metrics: { allowFrom: [] },
    auth: {
      maxConcurrentPasswordChecks: 2,
      maxPasswordChecksPerIp: 4,
      sessionIdleMs: 30 * 60_000,
      mfaRequiredRoles: ['admin', 'dsl'],
    },
  };
}

export interface ConfigSources {
  /** Parsed CLI flags (already split into name → value). */
  flags: Record<string, string | undefined>;
  env: Record<string, string | undefined>;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Environment variable → config field (dotted path). */
export const ENV_FIELDS: Record<string, string> = {
  CUSTODIAN_DATA_DIR: 'dataDir',
  CUSTODIAN_STORE: 'store',
  CUSTODIAN_POSTGRES_URL: 'postgres.url',
  CUSTODIAN_POSTGRES_POOL_MAX: 'postgres.poolMax',
  CUSTODIAN_HOST: 'host',
  CUSTODIAN_PORT: 'port',
  CUSTODIAN_PUBLIC_URL: 'publicUrl',
  CUSTODIAN_TLS_CERT: 'tls.certFile',
  CUSTODIAN_TLS_KEY: 'tls.keyFile',
  CUSTODIAN_SECURE_COOKIES: 'secureCookies',
  CUSTODIAN_IT_BROWSING_DETAIL: 'itBrowsingDetail',
  CUSTODIAN_LOG_LEVEL: 'logLevel',
  CUSTODIAN_SCREENSHOT_KEY_FILE: 'screenshotKeyFile',
  CUSTODIAN_HELLO_DEADLINE_MS: 'ingest.helloDeadlineMs',
  CUSTODIAN_IDLE_TIMEOUT_MS: 'ingest.idleTimeoutMs',
  CUSTODIAN_PING_INTERVAL_MS: 'ingest.pingIntervalMs',
  CUSTODIAN_MAX_INFLIGHT_BYTES: 'ingest.maxInFlightBytes',
  CUSTODIAN_MAX_INFLIGHT_BYTES_TOTAL: 'ingest.maxInFlightBytesTotal',
  CUSTODIAN_COMMIT_TICK_MS: 'ingest.commitTickMs',
  CUSTODIAN_RETENTION_TIMELINE_DAYS: 'retention.timelineDays',
  CUSTODIAN_RETENTION_SCREENSHOT_DAYS: 'retention.screenshotDays',
  CUSTODIAN_PURGE_INTERVAL_MINUTES: 'retention.purgeIntervalMinutes',
  CUSTODIAN_RETENTION_INCOMPLETE_UPLOAD_HOURS: 'retention.incompleteUploadHours',
  CUSTODIAN_POLICY_MIN_IDLE_LOCK_SECONDS: 'policy.minIdleLockSeconds',
  CUSTODIAN_RETENTION_RETIRED_DAYS: 'retention.retiredDays',
  CUSTODIAN_HEALTH_CHECK_INTERVAL_MS: 'health.checkIntervalMs',
  CUSTODIAN_RETENTION_ALERT_FALSE_POSITIVE_DAYS: 'retention.alertFalsePositiveDays',
  CUSTODIAN_RETENTION_ALERT_GRADED_DAYS: 'retention.alertGradedDays',
  CUSTODIAN_RETENTION_ALERT_ESCALATED_DAYS: 'retention.alertEscalatedDays',
  CUSTODIAN_RETENTION_ALERT_UNREVIEWED_DAYS: 'retention.alertUnreviewedDays',
  CUSTODIAN_RETENTION_INCIDENT_DAYS: 'retention.incidentDays',
  CUSTODIAN_RETENTION_AUDIT_DAYS: 'retention.auditDays',
  CUSTODIAN_RETENTION_NOTIFICATION_DAYS: 'retention.notificationDays',
  CUSTODIAN_RETENTION_PURGE_RECORD_DAYS: 'retention.purgeRecordDays',
  CUSTODIAN_TRUSTED_PROXIES: 'http.trustedProxies',
  CUSTODIAN_REQUEST_TIMEOUT_MS: 'http.requestTimeoutMs',
  CUSTODIAN_HEADERS_TIMEOUT_MS: 'http.headersTimeoutMs',
  CUSTODIAN_MAX_CONNECTIONS: 'http.maxConnections',
  CUSTODIAN_MAX_UNAUTHENTICATED_WS: 'http.maxUnauthenticatedWs',
  CUSTODIAN_MAX_SSE_STREAMS_PER_USER: 'http.maxSseStreamsPerUser',
  CUSTODIAN_MAX_CONCURRENT_PASSWORD_CHECKS: 'auth.maxConcurrentPasswordChecks',
  CUSTODIAN_MAX_PASSWORD_CHECKS_PER_IP: 'auth.maxPasswordChecksPerIp',
  CUSTODIAN_SESSION_IDLE_MS: 'auth.sessionIdleMs',
  CUSTODIAN_MFA_REQUIRED_ROLES: 'auth.mfaRequiredRoles',
  CUSTODIAN_METRICS_ALLOW_FROM: 'metrics.allowFrom',
};

const FLAG_FIELDS: Record<string, string> = {
  'data-dir': 'dataDir',
  store: 'store',
  host: 'host',
  port: 'port',
  'public-url': 'publicUrl',
  'tls-cert': 'tls.certFile',
  'tls-key': 'tls.keyFile',
  'log-level': 'logLevel',
  'screenshot-key-file': 'screenshotKeyFile',
};

function bad(field: string, message: string): never {
  throw new CustodianError(ErrorCode.INVALID_CONFIG, `config field ${field}: ${message}`, {
    details: { field },
  });
}

/** Whether the session cookie carries `Secure` (and the `__Host-` prefix). */
export function cookiesSecure(cfg: Pick<CollectorConfig, 'secureCookies' | 'tls'>): boolean {
  return cfg.secureCookies === 'auto' ? cfg.tls !== undefined : cfg.secureCookies === 'always';
}

/** Builds and validates the configuration. Throws CUST_ERR_INVALID_CONFIG naming the bad field. */
export function loadConfig(sources: ConfigSources): CollectorConfig {
  const raw: Record<string, unknown> = {};
  const configFile = sources.flags['config'] ?? sources.env['CUSTODIAN_CONFIG'];
  if (configFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      bad('config', `cannot read ${configFile} as JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      bad('config', 'must be a JSON object');
    Object.assign(raw, parsed);
  }
  const flat: Record<string, unknown> = flatten(raw);
  for (const [name, field] of Object.entries(ENV_FIELDS)) {
    const v = sources.env[name];
    if (v !== undefined && v !== '') flat[field] = v;
  }
  for (const [name, field] of Object.entries(FLAG_FIELDS)) {
    const v = sources.flags[name];
    if (v !== undefined) flat[field] = v;
  }
  const dataDir = flat['dataDir'];
  if (typeof dataDir !== 'string' || dataDir === '') bad('dataDir', 'required (--data-dir DIR)');
  const cfg = defaultConfig(dataDir);
  const known = new Set(
    Object.keys(flatten(cfg as unknown as Record<string, unknown>)).concat(['tls.certFile', 'tls.keyFile']),
  );
  for (const [field, value] of Object.entries(flat)) {
    if (!known.has(field)) bad(field, 'unknown setting');
    if (field === 'dataDir') continue;
    assign(cfg, field, value);
  }
  return validate(cfg, configFile);
}

function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v))
      Object.assign(out, flatten(v as Record<string, unknown>, path));
    else if (v !== undefined) out[path] = v;
  }
  return out;
}

function assign(cfg: CollectorConfig, field: string, value: unknown): void {
  const parts = field.split('.');
  let target = cfg as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) {
    if (target[part] === undefined) target[part] = {};
    target = target[part] as Record<string, unknown>;
  }
  target[parts[parts.length - 1] as string] = value;
}

function int(field: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    bad(field, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return n;
}

function text(field: string, value: unknown): string {
  if (typeof value !== 'string') bad(field, `must be text (got ${JSON.stringify(value)})`);
  return value;
}

/**
 * A list of strings each `ok` accepts: a JSON array in the config file, or comma-separated text
 * (env). `what` names the items in the errors: [one, many].
 */
function listOf(
  field: string,
  value: unknown,
  ok: (v: string) => boolean,
  what: readonly [string, string],
): string[] {
  const items =
    typeof value === 'string'
      ? value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '')
      : value;
  if (!Array.isArray(items)) bad(field, `must be a list of ${what[1]}`);
  return items.map((v) => {
    if (typeof v !== 'string' || !ok(v)) bad(field, `not an ${what[0]}: ${JSON.stringify(v)}`);
    return v;
  });
}

/** `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8`: an address with an optional prefix length that fits its family. */
export function isAddressRange(v: string): boolean {
  const [addr = '', prefix, extra] = v.split('/');
  if (extra !== undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function validate(cfg: CollectorConfig, configFile: string | undefined): CollectorConfig {
  const base = configFile ? dirname(resolve(configFile)) : process.cwd();
  const path = (field: string, v: unknown) => {
    const s = text(field, v);
    if (s === '') bad(field, 'must not be empty');
    return isAbsolute(s) ? s : resolve(base, s);
  };
  if (!STORES.includes(cfg.store))
    bad('store', `must be one of ${STORES.join(', ')} (got ${JSON.stringify(cfg.store)})`);
  const pg = cfg.postgres;
  pg.url = text('postgres.url', pg.url);
  // Never echo the URL: it carries the database password.
  if (pg.url !== '' && !/^postgres(ql)?:\/\/[^\s]+$/.test(pg.url))
    bad('postgres.url', 'must be a postgresql:// URL');
  if (cfg.store === 'postgres' && pg.url === '')
    bad('postgres.url', 'required with store postgres (config file or CUSTODIAN_POSTGRES_URL)');
  pg.poolMax = int('postgres.poolMax', pg.poolMax, 1, 1000);
  cfg.host = text('host', cfg.host);
  if (!/^[A-Za-z0-9.:[\]-]{1,255}$/.test(cfg.host)) bad('host', `not a host name or address: ${cfg.host}`);
  cfg.port = int('port', cfg.port, 0, 65_535);
  cfg.publicUrl = text('publicUrl', cfg.publicUrl);
  if (cfg.publicUrl !== '' && !/^(https?|wss?):\/\/[^\s]+$/.test(cfg.publicUrl))
    bad('publicUrl', 'must be an http(s) URL');
  if (!LOG_LEVELS.includes(cfg.logLevel)) bad('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  cfg.screenshotKeyFile = path('screenshotKeyFile', cfg.screenshotKeyFile);
  if (cfg.tls !== undefined) {
    const t = cfg.tls as { certFile?: unknown; keyFile?: unknown };
    if (t.certFile === undefined) bad('tls.certFile', 'required when tls.keyFile is given (--tls-cert)');
    if (t.keyFile === undefined) bad('tls.keyFile', 'required when tls.certFile is given (--tls-key)');
    cfg.tls = { certFile: path('tls.certFile', t.certFile), keyFile: path('tls.keyFile', t.keyFile) };
  }
  if (!SECURE_COOKIES.includes(cfg.secureCookies))
    bad(
      'secureCookies',
      `must be one of ${SECURE_COOKIES.join(', ')} (got ${JSON.stringify(cfg.secureCookies)})`,
    );
  if (!IT_BROWSING_DETAIL.includes(cfg.itBrowsingDetail))
    bad(
      'itBrowsingDetail',
      `must be one of ${IT_BROWSING_DETAIL.join(', ')} (got ${JSON.stringify(cfg.itBrowsingDetail)})`,
    );
  const i = cfg.ingest;
  i.helloDeadlineMs = int('ingest.helloDeadlineMs', i.helloDeadlineMs, 50, 600_000);
  i.idleTimeoutMs = int('ingest.idleTimeoutMs', i.idleTimeoutMs, 100, 3_600_000);
  i.pingIntervalMs = int('ingest.pingIntervalMs', i.pingIntervalMs, 50, 3_600_000);
  if (i.pingIntervalMs >= i.idleTimeoutMs)
    bad('ingest.pingIntervalMs', 'must be shorter than ingest.idleTimeoutMs');
  i.maxInFlightBytes = int('ingest.maxInFlightBytes', i.maxInFlightBytes, 64 * 1024, 1024 * 1024 * 1024);
  i.maxInFlightBytesTotal = int(
    'ingest.maxInFlightBytesTotal',
    i.maxInFlightBytesTotal,
    i.maxInFlightBytes,
    16 * 1024 * 1024 * 1024,
  );
  i.commitTickMs = int('ingest.commitTickMs', i.commitTickMs, 0, 1000);
  const r = cfg.retention;
  r.timelineDays = int('retention.timelineDays', r.timelineDays, 1, 36_500);
  r.screenshotDays = int('retention.screenshotDays', r.screenshotDays, 1, 36_500);
  r.purgeIntervalMinutes = int('retention.purgeIntervalMinutes', r.purgeIntervalMinutes, 1, 10_080);
  r.incompleteUploadHours = int('retention.incompleteUploadHours', r.incompleteUploadHours, 1, 24 * 30);
  r.retiredDays = int('retention.retiredDays', r.retiredDays, 1, 36_500);
  cfg.health.checkIntervalMs = int('health.checkIntervalMs', cfg.health.checkIntervalMs, 100, 3_600_000);
  for (const f of [
    'alertFalsePositiveDays',
    'alertGradedDays',
    'alertEscalatedDays',
    'alertUnreviewedDays',
    'incidentDays',
    'auditDays',
    'notificationDays',
    'purgeRecordDays',
  ] as const)
    r[f] = int(`retention.${f}`, r[f], 1, 36_500);
  cfg.enrol.codeTtlHoursDefault = int('enrol.codeTtlHoursDefault', cfg.enrol.codeTtlHoursDefault, 1, 24 * 90);
  cfg.policy.minIdleLockSeconds = int('policy.minIdleLockSeconds', cfg.policy.minIdleLockSeconds, 1, 86_400);
  cfg.enrol.liveDays = int('enrol.liveDays', cfg.enrol.liveDays, 1, 3650);
  const h = cfg.http;
  h.trustedProxies = listOf('http.trustedProxies', h.trustedProxies, (v) => isIP(v) !== 0, [
    'IP address',
    'IP addresses',
  ]);
  h.requestTimeoutMs = int('http.requestTimeoutMs', h.requestTimeoutMs, 1000, 3_600_000);
  h.headersTimeoutMs = int('http.headersTimeoutMs', h.headersTimeoutMs, 500, 600_000);
  if (h.headersTimeoutMs > h.requestTimeoutMs)
    bad('http.headersTimeoutMs', 'must not be longer than http.requestTimeoutMs');
  h.maxConnections = int('http.maxConnections', h.maxConnections, 10, 1_000_000);
  h.maxUnauthenticatedWs = int('http.maxUnauthenticatedWs', h.maxUnauthenticatedWs, 1, 1_000_000);
  h.maxSseStreamsPerUser = int('http.maxSseStreamsPerUser', h.maxSseStreamsPerUser, 1, 1000);
  cfg.metrics.allowFrom = listOf('metrics.allowFrom', cfg.metrics.allowFrom, isAddressRange, [
    'IP address or CIDR range',
    'IP addresses or CIDR ranges',
  ]);
  const a = cfg.auth;
  a.maxConcurrentPasswordChecks = int(
    'auth.maxConcurrentPasswordChecks',
    a.maxConcurrentPasswordChecks,
    1,
    64,
  );
  a.maxPasswordChecksPerIp = int('auth.maxPasswordChecksPerIp', a.maxPasswordChecksPerIp, 1, 1000);
  // At most the 12 h absolute session lifetime.
  a.sessionIdleMs = int('auth.sessionIdleMs', a.sessionIdleMs, 1000, 12 * 3600_000);
  // `none` (env or file) empties it: an isolated test or lab collector, never a school's.
  a.mfaRequiredRoles = listOf(
    'auth.mfaRequiredRoles',
    (a.mfaRequiredRoles as unknown) === 'none' ? [] : a.mfaRequiredRoles,
    (v) => ['admin', 'it', 'dsl', 'governor'].includes(v),
    ['role', 'roles'],
  ) as CollectorConfig['auth']['mfaRequiredRoles'];
  return cfg;
}
