// Configuration: defaults, then the config file (JSON), then environment variables, then CLI
// flags. Validated once at start; a bad value stops the process with a message naming the field
// and where its value came from (file, env, flag).
//
// Every setting is declared ONCE, in CONFIG below: type, limits, default, description, env
// variable, flag. The CollectorConfig type, defaultConfig(), ENV_FIELDS and the check all come
// from it (config-schema.ts). To add a setting, add its leaf there (collector/README.md,
// "How to add a setting"); a rule between two settings goes in RELATIONS.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { HELLO_DEADLINE_MS } from '@custodian/protocol';
import { type Static, Type } from '@sinclair/typebox';
import {
  assign,
  checkSetting,
  defaultsOf,
  flatten,
  fromText,
  Int,
  IpAddress,
  IpRange,
  isAddressRange,
  ListOf,
  leavesOf,
  OneOf,
  refuse,
  Str,
} from './config-schema.ts';

export { isAddressRange };

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

/** What carries live updates, commands, policy pushes and presence between collector processes. */
export const BUSES = ['none', 'nats'] as const;
export type BusKind = (typeof BUSES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const STAFF_ROLES = ['admin', 'it', 'dsl', 'governor'] as const;
const days = (def: number, env: string, description: string) => Int(1, 36_500, def, { env, description });

/** The collector's settings: the one declaration (see the top of this file). */
export const CONFIG = Type.Object({
  dataDir: Str('', {
    env: 'CUSTODIAN_DATA_DIR',
    flag: 'data-dir',
    path: true,
    minLength: 1,
    description: 'Where the collector keeps its data (required, --data-dir DIR).',
  }),
  store: OneOf(STORES, 'level', {
    env: 'CUSTODIAN_STORE',
    flag: 'store',
    description: '`level` (default): one process, embedded; `postgres`: the database at `postgres.url`.',
  }),
  postgres: Type.Object({
    url: Str('', {
      env: 'CUSTODIAN_POSTGRES_URL',
      secret: true,
      // Never echoed: it carries the database password.
      pattern: '^$|^postgres(ql)?://[^\\s]+$',
      mustBe: 'be a postgresql:// URL',
      description:
        '`postgresql://user:password@host:port/db` (libpq URL; `?sslmode=...` as libpq). A secret: give it in the config file (0600) or CUSTODIAN_POSTGRES_URL, never on the command line; never logged (messages show it with the password as `***`).',
    }),
    poolMax: Int(1, 1000, 10, {
      env: 'CUSTODIAN_POSTGRES_POOL_MAX',
      description: "Connections in the collector's pool (the one-writer lock holds one more).",
    }),
  }),
  bus: OneOf(BUSES, 'none', {
    env: 'CUSTODIAN_BUS',
    flag: 'bus',
    description:
      '`none` (default): one collector process, live feeds in-process. `nats`: several collector processes over one PostgreSQL database (needs `store: postgres`) share live status, alerts, policy pushes, commands and device presence through NATS JetStream (collector/src/bus/).',
  }),
  nats: Type.Object({
    url: Str('', {
      env: 'CUSTODIAN_NATS_URL',
      secret: true,
      pattern: '^$|^(nats|tls)://[^\\s,]+(\\s*,\\s*(nats|tls)://[^\\s,]+)*$',
      mustBe: 'be nats:// or tls:// URLs, comma-separated',
      description:
        '`nats://host:4222` or `tls://host:4222`, comma-separated for a cluster. A secret when it carries credentials (`nats://user:password@host`): config file or CUSTODIAN_NATS_URL, never logged (shown with the password as `***`).',
    }),
    name: Str('', {
      env: 'CUSTODIAN_NATS_NAME',
      pattern: '^$|^[A-Za-z0-9_-]{1,64}$',
      mustBe: 'be letters, digits, _ and - only (1 to 64)',
      description:
        "This process's name on the bus (default: the host name); a random suffix is added per start.",
    }),
    presenceTtlMs: Int(1000, 600_000, 15_000, {
      env: 'CUSTODIAN_NATS_PRESENCE_TTL_MS',
      description:
        'A process that has not renewed its presence for this long is gone: its devices are shown offline by the others. Renewed every third of it.',
    }),
  }),
  host: Str('127.0.0.1', {
    env: 'CUSTODIAN_HOST',
    flag: 'host',
    pattern: '^[A-Za-z0-9.:[\\]-]{1,255}$',
    mustBe: 'be a host name or address',
  }),
  port: Int(0, 65_535, 8443, { env: 'CUSTODIAN_PORT', flag: 'port' }),
  publicUrl: Str('', {
    env: 'CUSTODIAN_PUBLIC_URL',
    flag: 'public-url',
    pattern: '^$|^(https?|wss?)://[^\\s]+$',
    mustBe: 'be an http(s) URL',
    description: 'URL agents should use (returned by enrolment). Default: derived from host/port/TLS.',
  }),
  tls: Type.Union(
    [
      Type.Object({
        certFile: Str('', { env: 'CUSTODIAN_TLS_CERT', flag: 'tls-cert', path: true, minLength: 1 }),
        keyFile: Str('', { env: 'CUSTODIAN_TLS_KEY', flag: 'tls-key', path: true, minLength: 1 }),
      }),
      Type.Undefined(),
    ],
    { default: undefined, description: 'Serve HTTPS with this certificate and key (both, or neither).' },
  ),
  secureCookies: OneOf(SECURE_COOKIES, 'auto', {
    env: 'CUSTODIAN_SECURE_COOKIES',
    description:
      '`Secure` on the session cookie: `auto` = only when this process serves TLS; `always` behind a TLS-terminating reverse proxy (the browser sees https, we see http); `never` for local tests.',
  }),
  itBrowsingDetail: OneOf(IT_BROWSING_DETAIL, 'app-and-domain', {
    env: 'CUSTODIAN_IT_BROWSING_DETAIL',
    description:
      "`app-and-domain` (default): IT sees the app and the site's domain, no window title and no path or query; `full-title`: IT sees titles and URLs too (still never text the library matches).",
  }),
  logLevel: OneOf(LOG_LEVELS, 'info', { env: 'CUSTODIAN_LOG_LEVEL', flag: 'log-level' }),
  screenshotKeyFile: Str('', {
    env: 'CUSTODIAN_SCREENSHOT_KEY_FILE',
    flag: 'screenshot-key-file',
    path: true,
    minLength: 1,
    derive: (dataDir) => join(dirname(resolve(dataDir)), 'custodian-screenshot.key'),
    description:
      'File holding the AES-256-GCM screenshot key; default `<dataDir>/../custodian-screenshot.key`.',
  }),
  ingest: Type.Object({
    helloDeadlineMs: Int(50, 600_000, HELLO_DEADLINE_MS, { env: 'CUSTODIAN_HELLO_DEADLINE_MS' }),
    idleTimeoutMs: Int(100, 3_600_000, 120_000, {
      env: 'CUSTODIAN_IDLE_TIMEOUT_MS',
      description: 'Close a session with no frame and no pong for this long.',
    }),
    pingIntervalMs: Int(50, 3_600_000, 30_000, { env: 'CUSTODIAN_PING_INTERVAL_MS' }),
    maxInFlightBytes: Int(64 * 1024, 1024 * 1024 * 1024, 8 * 1024 * 1024, {
      env: 'CUSTODIAN_MAX_INFLIGHT_BYTES',
      description: 'Bytes of received-but-not-yet-durable frames per connection before reading pauses.',
    }),
    maxInFlightBytesTotal: Int(64 * 1024, 16 * 1024 * 1024 * 1024, 64 * 1024 * 1024, {
      env: 'CUSTODIAN_MAX_INFLIGHT_BYTES_TOTAL',
      description:
        'The same over every connection together: past it, a connection whose frame arrives stops being read until the total is back under half (with maxInFlightBytes per connection alone, 2,000 agents could hold 16 GiB).',
    }),
    commitTickMs: Int(0, 1000, 2, {
      env: 'CUSTODIAN_COMMIT_TICK_MS',
      description: 'How long the group commit waits to gather batches before one synced write.',
    }),
  }),
  retention: Type.Object({
    timelineDays: days(90, 'CUSTODIAN_RETENTION_TIMELINE_DAYS', 'Device timelines.'),
    screenshotDays: days(30, 'CUSTODIAN_RETENTION_SCREENSHOT_DAYS', 'Screenshots.'),
    purgeIntervalMinutes: Int(1, 10_080, 60, { env: 'CUSTODIAN_PURGE_INTERVAL_MINUTES' }),
    incompleteUploadHours: Int(1, 24 * 30, 24, {
      env: 'CUSTODIAN_RETENTION_INCOMPLETE_UPLOAD_HOURS',
      description: 'Chunks of an upload never completed (collector crashed mid-upload) go after this long.',
    }),
    retiredDays: days(
      30,
      'CUSTODIAN_RETENTION_RETIRED_DAYS',
      "A retired device's timeline and unreferenced screenshots go this long after retirement.",
    ),
    // Alerts by outcome, counted from the DSL's last decision (from creation while unreviewed).
    // Anything linked to an incident that is open or under monitoring (safeguarding hold) is kept
    // whatever its age. The alert's flaggedActivity event goes with the timeline (timelineDays).
    alertFalsePositiveDays: days(
      30,
      'CUSTODIAN_RETENTION_ALERT_FALSE_POSITIVE_DAYS',
      'Alerts marked false positive.',
    ),
    alertGradedDays: days(365, 'CUSTODIAN_RETENTION_ALERT_GRADED_DAYS', 'Graded alerts, not escalated.'),
    alertEscalatedDays: days(
      9_125,
      'CUSTODIAN_RETENTION_ALERT_ESCALATED_DAYS',
      'Alerts escalated to an incident.',
    ),
    alertUnreviewedDays: days(365, 'CUSTODIAN_RETENTION_ALERT_UNREVIEWED_DAYS', 'Alerts never reviewed.'),
    incidentDays: days(
      9_125,
      'CUSTODIAN_RETENTION_INCIDENT_DAYS',
      "Closed incidents, counted from creation. Child-protection records are commonly kept until the child is 25; the collector does not know a pupil's birth date, so the default is 25 years.",
    ),
    auditDays: days(2_557, 'CUSTODIAN_RETENTION_AUDIT_DAYS', 'Audit records (the append-only log).'),
    notificationDays: days(365, 'CUSTODIAN_RETENTION_NOTIFICATION_DAYS', 'Notifications to staff.'),
    purgeRecordDays: days(2_557, 'CUSTODIAN_RETENTION_PURGE_RECORD_DAYS', 'The purge records themselves.'),
  }),
  health: Type.Object({
    checkIntervalMs: Int(100, 3_600_000, 60_000, {
      env: 'CUSTODIAN_HEALTH_CHECK_INTERVAL_MS',
      description:
        "How often every device is checked (offline, unclean stop, lock/USB failures, clones, gaps); what is checked is the school's health settings record.",
    }),
  }),
  enrol: Type.Object({
    codeTtlHoursDefault: Int(1, 24 * 90, 72, {}),
    liveDays: Int(1, 3650, 90, {
      description:
        'A school device heard from within this many days is "live": re-enrolling its machine id needs proof of its key or an admin\'s approval. Longer than a school holiday by default.',
    }),
  }),
  policy: Type.Object({
    minIdleLockSeconds: Int(1, 86_400, 60, {
      env: 'CUSTODIAN_POLICY_MIN_IDLE_LOCK_SECONDS',
      description:
        'Shortest idle-lock threshold anyone may set through the API (packages/policy EDIT_LIMITS). Default 60; lower only for demos and tests.',
    }),
  }),
  http: Type.Object({
    trustedProxies: ListOf(IpAddress(), [], {
      env: 'CUSTODIAN_TRUSTED_PROXIES',
      mustBe: 'IP addresses',
      description:
        'Addresses of reverse proxies whose `X-Forwarded-For` is believed (exact IPs). Empty: the header is ignored and the socket address is the client (throttling, audit).',
    }),
    requestTimeoutMs: Int(1000, 3_600_000, 30_000, {
      env: 'CUSTODIAN_REQUEST_TIMEOUT_MS',
      description: "Whole request (headers and body) must arrive within this (node's requestTimeout).",
    }),
    headersTimeoutMs: Int(500, 600_000, 10_000, {
      env: 'CUSTODIAN_HEADERS_TIMEOUT_MS',
      description:
        "Request headers must arrive within this (node's headersTimeout): a header trickle is cut off.",
    }),
    maxConnections: Int(10, 1_000_000, 5_000, {
      env: 'CUSTODIAN_MAX_CONNECTIONS',
      description: 'Open TCP connections (HTTP, SSE, WebSocket) at once; more are refused.',
    }),
    maxUnauthenticatedWs: Int(1, 1_000_000, 200, {
      env: 'CUSTODIAN_MAX_UNAUTHENTICATED_WS',
      description: 'WebSocket connections that have not yet said a valid Hello, at once.',
    }),
    maxSseStreamsPerUser: Int(1, 1000, 4, {
      env: 'CUSTODIAN_MAX_SSE_STREAMS_PER_USER',
      description: 'Open SSE streams (device feed + alert feed together) per signed-in account or token.',
    }),
  }),
  metrics: Type.Object({
    allowFrom: ListOf(IpRange(), [], {
      env: 'CUSTODIAN_METRICS_ALLOW_FROM',
      mustBe: 'IP addresses or CIDR ranges',
      description:
        'Addresses (IPs or CIDR ranges) that may read `/metrics` without the admin token, e.g. the Prometheus server. Empty (default): the admin token only.',
    }),
  }),
  auth: Type.Object({
    maxConcurrentPasswordChecks: Int(1, 64, 2, {
      env: 'CUSTODIAN_MAX_CONCURRENT_PASSWORD_CHECKS',
      description: "Password checks hashing at the same time, collector-wide (scrypt uses libuv's pool).",
    }),
    maxPasswordChecksPerIp: Int(1, 1000, 4, {
      env: 'CUSTODIAN_MAX_PASSWORD_CHECKS_PER_IP',
      description: 'Password checks running or queued from one client address.',
    }),
    // At most the 12 h absolute session lifetime.
    sessionIdleMs: Int(1000, 12 * 3600_000, 30 * 60_000, {
      env: 'CUSTODIAN_SESSION_IDLE_MS',
      description: 'A staff session ends after this long without a request (server-side).',
    }),
    mfaRequiredRoles: ListOf(OneOf(STAFF_ROLES, 'admin', {}), ['admin', 'dsl'], {
      env: 'CUSTODIAN_MFA_REQUIRED_ROLES',
      // `none` (env or file) empties it: an isolated test or lab collector, never a school's.
      emptyWord: 'none',
      mustBe: 'roles',
      description:
        'Roles whose local (password) accounts must use TOTP — default admin and dsl (issue 19). The sign-in settings record can add roles, not remove these. `none`: only an isolated test or lab setup.',
    }),
  }),
});

export type CollectorConfig = Static<typeof CONFIG>;

const LEAVES = leavesOf(CONFIG);

export function defaultConfig(dataDir: string): CollectorConfig {
  const cfg = defaultsOf(CONFIG, dataDir) as CollectorConfig;
  cfg.dataDir = resolve(dataDir);
  return cfg;
}

export interface ConfigSources {
  /** Parsed CLI flags (already split into name → value). */
  flags: Record<string, string | undefined>;
  env: Record<string, string | undefined>;
}

/** Environment variable → config field (dotted path), from the declaration. */
export const ENV_FIELDS: Record<string, string> = Object.fromEntries(
  [...LEAVES].flatMap(([field, leaf]) => (leaf.env ? [[leaf.env, field]] : [])),
);
const FLAG_FIELDS: Record<string, string> = Object.fromEntries(
  [...LEAVES].flatMap(([field, leaf]) => (leaf.flag ? [[leaf.flag, field]] : [])),
);

/**
 * Rules between settings (each names the field to change). A rule about one setting alone
 * belongs in its leaf (limits, pattern, format).
 */
const RELATIONS: ((cfg: CollectorConfig, given: ReadonlyMap<string, string>) => void)[] = [
  (cfg, given) => {
    if (cfg.ingest.maxInFlightBytesTotal < cfg.ingest.maxInFlightBytes)
      refuse(
        'ingest.maxInFlightBytesTotal',
        'must be at least ingest.maxInFlightBytes',
        given.get('ingest.maxInFlightBytesTotal'),
      );
  },
  (cfg, given) => {
    if (cfg.bus === 'nats' && cfg.nats.url === '')
      refuse('nats.url', 'required with bus nats (config file or CUSTODIAN_NATS_URL)', given.get('bus'));
  },
  (cfg, given) => {
    if (cfg.bus === 'nats' && cfg.store !== 'postgres')
      refuse(
        'bus',
        'nats needs store postgres: several collector processes share one PostgreSQL database',
        given.get('bus'),
      );
  },
  (cfg, given) => {
    if (cfg.store === 'postgres' && cfg.postgres.url === '')
      refuse(
        'postgres.url',
        'required with store postgres (config file or CUSTODIAN_POSTGRES_URL)',
        given.get('store'),
      );
  },
  (cfg, given) => {
    if (cfg.ingest.pingIntervalMs >= cfg.ingest.idleTimeoutMs)
      refuse(
        'ingest.pingIntervalMs',
        'must be shorter than ingest.idleTimeoutMs',
        given.get('ingest.pingIntervalMs'),
      );
  },
  (cfg, given) => {
    if (cfg.http.headersTimeoutMs > cfg.http.requestTimeoutMs)
      refuse(
        'http.headersTimeoutMs',
        'must not be longer than http.requestTimeoutMs',
        given.get('http.headersTimeoutMs'),
      );
  },
];

/** Whether the session cookie carries `Secure` (and the `__Host-` prefix). */
export function cookiesSecure(cfg: Pick<CollectorConfig, 'secureCookies' | 'tls'>): boolean {
  return cfg.secureCookies === 'auto' ? cfg.tls !== undefined : cfg.secureCookies === 'always';
}

/** Builds and validates the configuration. Throws CUST_ERR_INVALID_CONFIG naming the bad field and its source. */
export function loadConfig(sources: ConfigSources): CollectorConfig {
  const flat = new Map<string, { value: unknown; source: string }>();
  const configFile = sources.flags['config'] ?? sources.env['CUSTODIAN_CONFIG'];
  if (configFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      refuse('config', `cannot read ${configFile} as JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      refuse('config', 'must be a JSON object', `file ${configFile}`);
    for (const [field, value] of Object.entries(flatten(parsed as Record<string, unknown>)))
      flat.set(field, { value, source: `file ${configFile}` });
  }
  for (const [name, field] of Object.entries(ENV_FIELDS)) {
    const v = sources.env[name];
    if (v !== undefined && v !== '') flat.set(field, { value: v, source: `env ${name}` });
  }
  for (const [name, field] of Object.entries(FLAG_FIELDS)) {
    const v = sources.flags[name];
    if (v !== undefined) flat.set(field, { value: v, source: `flag --${name}` });
  }
  const dataDir = flat.get('dataDir');
  if (typeof dataDir?.value !== 'string' || dataDir.value === '')
    refuse('dataDir', 'required (--data-dir DIR)', dataDir?.source);
  const base = configFile ? dirname(resolve(configFile)) : process.cwd();
  const cfg = defaultConfig(dataDir.value) as unknown as Record<string, unknown>;
  const given = new Map<string, string>();
  for (const [field, { value: raw, source }] of flat) {
    const leaf = LEAVES.get(field);
    if (!leaf) refuse(field, 'unknown setting', source);
    const value = fromText(leaf, raw);
    checkSetting(field, leaf, value, source);
    given.set(field, source);
    if (field === 'dataDir') continue;
    const v = leaf.emptyWord !== undefined && value === leaf.emptyWord ? [] : value;
    assign(cfg, field, leaf.path && typeof v === 'string' && !isAbsolute(v) ? resolve(base, v) : v);
  }
  const tls = cfg['tls'] as { certFile?: string; keyFile?: string } | undefined;
  if (tls !== undefined) {
    if (tls.certFile === undefined)
      refuse('tls.certFile', 'required when tls.keyFile is given (--tls-cert)', given.get('tls.keyFile'));
    if (tls.keyFile === undefined)
      refuse('tls.keyFile', 'required when tls.certFile is given (--tls-key)', given.get('tls.certFile'));
  }
  const config = cfg as unknown as CollectorConfig;
  for (const rule of RELATIONS) rule(config, given);
  return config;
}
