// The console's only door to the collector: JSON over fetch with the session cookie, the CSRF
// token on every state-changing request, and errors turned into ApiError with the server's code.
// Every endpoint path the console uses is named here, so the API surface is reviewable in one place.
import { OPTIONS } from './options.js';

const BASE = '/api/v1';

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @type {string | null} */
let csrfToken = null;
/** @type {(err: ApiError) => void} */
let onUnauthenticated = () => {};

/** @param {string | null | undefined} token */
export function setCsrfToken(token) {
  csrfToken = token ?? null;
}

/** Called when the session has expired, so the app can show the login page. @param {(err: ApiError) => void} fn */
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

/**
 * @param {string} method @param {string} path @param {unknown} [body]
 * @param {{ quiet401?: boolean }} [opts]
 * @returns {Promise<any>}
 */
export async function request(method, path, body, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  /** @type {any} */
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not the collector's JSON (a proxy's error page): the collector was not reachable as such.
      throw new ApiError(res.status, OPTIONS.errorCodes.BAD_RESPONSE, `unexpected response (${res.status})`);
    }
  }
  if (!res.ok) {
    const code = data?.error?.code ?? OPTIONS.errorCodes.BAD_RESPONSE;
    const message = data?.error?.message ?? `request failed (${res.status})`;
    const err = new ApiError(res.status, code, message);
    if (res.status === 401 && !opts.quiet401) onUnauthenticated(err);
    throw err;
  }
  return data;
}

/** @param {Record<string, unknown>} params */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** @param {string} id */
const enc = (id) => encodeURIComponent(id);

export const api = {
  // session
  me: () => request('GET', '/auth/me', undefined, { quiet401: true }),
  /** @param {string} username @param {string} password */
  login: (username, password) => request('POST', '/auth/login', { username, password }, { quiet401: true }),
  logout: () => request('POST', '/auth/logout', {}),
  /** @param {string} currentPassword @param {string} newPassword */
  changePassword: (currentPassword, newPassword) =>
    request('POST', '/auth/password', { currentPassword, newPassword }),

  /** Second sign-in step. @param {string} mfaToken @param {{ code?: string, recoveryCode?: string }} answer */
  mfaVerify: (mfaToken, answer) =>
    request('POST', '/auth/mfa/verify', { mfaToken, ...answer }, { quiet401: true }),
  mfaEnrol: () => request('POST', '/auth/mfa/enrol', {}),
  /** @param {string} code */
  mfaConfirm: (code) => request('POST', '/auth/mfa/confirm', { code }),
  /** New recovery codes for your own account, after a current code. @param {string} code */
  mfaRecoveryCodes: (code) => request('POST', '/auth/mfa/recovery-codes', { code }),
  /** Enabled SSO providers for the login page (public). */
  ssoProviders: () => request('GET', '/auth/sso/providers', undefined, { quiet401: true }),
  /** People who signed in with SSO and wait for a role (admin). */
  ssoPending: () => request('GET', '/auth/sso/pending'),
  /** @param {string} id @param {string} role @param {string} reason */
  ssoAssign: (id, role, reason) => request('POST', `/auth/sso/pending/${enc(id)}/assign`, { role, reason }),
  /** @param {string} id @param {string} reason */
  ssoRefuse: (id, reason) => request('POST', `/auth/sso/pending/${enc(id)}/refuse`, { reason }),
  /** The sign-in settings record (admin): providers (no secrets), presets, mfaFloor. */
  signInSettings: () => request('GET', '/auth/sign-in-settings'),
  /** @param {Record<string, unknown>} settings the whole record (a left-out clientSecret is kept) */
  putSignInSettings: (settings) => request('PUT', '/auth/sign-in-settings', settings),
  /** @param {string} id @param {string} reason */
  mfaReset: (id, reason) => request('POST', `/users/${enc(id)}/mfa-reset`, { reason }),

  // staff accounts (admin)
  users: () => request('GET', '/users'),
  /** @param {Record<string, unknown>} body */
  createUser: (body) => request('POST', '/users', body),
  /** @param {string} id @param {Record<string, unknown>} body */
  updateUser: (id, body) => request('PATCH', `/users/${enc(id)}`, body),
  /** @param {string} id */
  resetPassword: (id) => request('POST', `/users/${enc(id)}/reset-password`, {}),

  // schools (tenancy): every role lists its own; trust-wide admins create, rename, move devices
  schools: () => request('GET', '/schools'),
  /** @param {string} id @param {string} name */
  createSchool: (id, name) => request('POST', '/schools', { id, name }),
  /** @param {string} id @param {string} name */
  renameSchool: (id, name) => request('PATCH', `/schools/${enc(id)}`, { name }),
  /** @param {string} id @param {string} schoolId @param {string} reason */
  moveDevice: (id, schoolId, reason) => request('POST', `/devices/${enc(id)}/school`, { schoolId, reason }),

  // devices (it, admin; dsl for context)
  devices: () => request('GET', '/devices'),
  /** @param {string} id */
  device: (id) => request('GET', `/devices/${enc(id)}`),
  /** @param {string} id @param {Record<string, unknown>} params */
  timeline: (id, params) => request('GET', `/devices/${enc(id)}/timeline${query(params)}`),
  /** @param {string} id */
  devicePolicy: (id) => request('GET', `/devices/${enc(id)}/policy`),
  /** @param {string} id @param {unknown} policy @param {string} reason */
  putDevicePolicy: (id, policy, reason) => request('PUT', `/devices/${enc(id)}/policy`, { policy, reason }),
  /** @param {string} id @param {string} kind @param {string} [reason] */
  deviceCommand: (id, kind, reason) =>
    request('POST', `/devices/${enc(id)}/commands`, reason ? { kind, reason } : { kind }),
  /** @param {string} id @param {string} reason */
  revokeDevice: (id, reason) => request('POST', `/devices/${enc(id)}/revoke`, { reason }),
  /** @param {string} id @param {string} reason */
  retireDevice: (id, reason) => request('POST', `/devices/${enc(id)}/retire`, { reason }),
  // device health and lifecycle (admin, it)
  /** @param {Record<string, unknown>} params */
  healthAlerts: (params) => request('GET', `/device-health/alerts${query(params)}`),
  /** @param {string} id @param {string} [note] */
  acknowledgeHealth: (id, note) =>
    request('POST', `/device-health/alerts/${enc(id)}/acknowledge`, note ? { note } : {}),
  /** @param {string} id @param {string} [note] */
  resolveHealth: (id, note) =>
    request('POST', `/device-health/alerts/${enc(id)}/resolve`, note ? { note } : {}),
  healthSettings: () => request('GET', '/device-health/settings'),
  /** @param {Record<string, unknown>} patch */
  putHealthSettings: (patch) => request('PUT', '/device-health/settings', patch),
  staleDevices: () => request('GET', '/lifecycle/stale'),
  staleReportUrl: () => `${BASE}/lifecycle/stale/report`,
  /** @param {string} action @param {string[]} deviceIds @param {string} reason */
  bulkDevices: (action, deviceIds, reason) =>
    request('POST', '/lifecycle/bulk', { action, deviceIds, reason }),
  /** Re-enrolments of a live device waiting for approval (admin, it). @param {string} [state] */
  replacements: (state) => request('GET', `/enrol/replacements${query({ state })}`),
  /** @param {string} id @param {string} reason */
  approveReplacement: (id, reason) => request('POST', `/enrol/replacements/${enc(id)}/approve`, { reason }),
  /** @param {string} id @param {string} reason */
  denyReplacement: (id, reason) => request('POST', `/enrol/replacements/${enc(id)}/deny`, { reason }),

  // policy and enrolment (admin)
  policy: () => request('GET', '/policy'),
  /** @param {unknown} policy @param {string} reason */
  putPolicy: (policy, reason) => request('PUT', '/policy', { policy, reason }),
  policyChanges: () => request('GET', '/policy/changes'),
  // policy layers (trust default -> school -> group -> device) and device groups (tenancy)
  /** @param {'schools' | 'groups'} kind @param {string} id */
  policyLayer: (kind, id) => request('GET', `/policy/${kind}/${enc(id)}`),
  /** @param {'schools' | 'groups'} kind @param {string} id @param {unknown} policy @param {string} reason */
  putPolicyLayer: (kind, id, policy, reason) =>
    request('PUT', `/policy/${kind}/${enc(id)}`, { policy, reason }),
  /** @param {'schools' | 'groups'} kind @param {string} id */
  policyLayerChanges: (kind, id) => request('GET', `/policy/${kind}/${enc(id)}/changes`),
  /** @param {string} id */
  devicePolicyLayers: (id) => request('GET', `/devices/${enc(id)}/policy/layers`),
  groups: () => request('GET', '/groups'),
  /** @param {{ schoolId: string, name: string }} body */
  createGroup: (body) => request('POST', '/groups', body),
  /** @param {string} id @param {string} name */
  renameGroup: (id, name) => request('PATCH', `/groups/${enc(id)}`, { name }),
  /** @param {string} id @param {string} reason */
  deleteGroup: (id, reason) => request('DELETE', `/groups/${enc(id)}`, { reason }),
  /** @param {string} id @param {string | null} groupId @param {string} reason */
  moveDeviceToGroup: (id, groupId, reason) =>
    request('PUT', `/devices/${enc(id)}/group`, { groupId, reason }),
  /** @param {{ ttlHours?: number, note?: string }} body */
  createEnrolCode: (body) => request('POST', '/enrol/codes', body),
  enrolCodes: () => request('GET', '/enrol/codes'),
  /** @param {string | undefined} schoolId */
  rotateEnrolSecret: (schoolId) => request('POST', '/enrol/secret/rotate', schoolId ? { schoolId } : {}),
  agreement: () => request('GET', '/agreement', undefined, { quiet401: true }),
  agreementVersions: () => request('GET', '/agreement/versions'),
  /** @param {string} text @param {string} reason */
  publishAgreement: (text, reason) => request('PUT', '/agreement', { text, reason }),
  /** @param {'csv' | 'json'} format */
  acceptancesUrl: (format) => `${BASE}/agreement/acceptances?format=${format}`,

  // the DPIA draft (admin, dsl)
  dpia: () => request('GET', '/dpia'),
  dpiaVersions: () => request('GET', '/dpia/versions'),
  dpiaDocumentUrl: () => `${BASE}/dpia/document`,
  /** @param {Record<string, unknown>} settings */
  putDpiaSettings: (settings) => request('PUT', '/dpia/settings', settings),

  // subject access (dsl) and erasure (dsl, admin)
  /** The archive's URL (fetched with fetchDownload). @param {Record<string, unknown>} params */
  subjectAccessUrl: (params) => `${BASE}/data-protection/subject-access${query(params)}`,
  erasures: () => request('GET', '/data-protection/erasures'),
  /** @param {Record<string, unknown>} body `{user | device, reason}` */
  requestErasure: (body) => request('POST', '/data-protection/erasures', body),

  // alerts (dsl)
  /** @param {Record<string, unknown>} params */
  alerts: (params) => request('GET', `/alerts${query(params)}`),
  /** @param {string} id */
  alert: (id) => request('GET', `/alerts/${enc(id)}`),
  /** @param {string} id @param {number} grade */
  grade: (id, grade) => request('POST', `/alerts/${enc(id)}/grade`, { grade }),
  /** @param {string} id @param {string} [reason] */
  falsePositive: (id, reason) =>
    request('POST', `/alerts/${enc(id)}/false-positive`, reason ? { reason } : {}),
  /** @param {string} id @param {string} text */
  note: (id, text) => request('POST', `/alerts/${enc(id)}/notes`, { text }),
  /** @param {string} id @param {Record<string, unknown>} body */
  escalate: (id, body) => request('POST', `/alerts/${enc(id)}/escalate`, body),
  /** "I have this": stops the notification rota. @param {string} id */
  acknowledge: (id) => request('POST', `/alerts/${enc(id)}/acknowledge`, {}),
  /** Opens the alert: answers like alert(id), recorded once (history + one audit record). @param {string} id */
  openAlert: (id) => request('POST', `/alerts/${enc(id)}/viewed`, {}),
  /** Screenshot URL: fetching it is audited on the server. @param {string} alertId @param {string} blobId */
  screenshotUrl: (alertId, blobId) => `${BASE}/alerts/${enc(alertId)}/screenshots/${enc(blobId)}`,
  /** @param {string} id */
  evidenceUrl: (id) => `${BASE}/alerts/${enc(id)}/export`,
  /** @param {string} id */
  incidentEvidenceUrl: (id) => `${BASE}/incidents/${enc(id)}/export`,

  // incidents (dsl)
  /** @param {Record<string, unknown>} params */
  incidents: (params) => request('GET', `/incidents${query(params)}`),
  /** @param {string} id */
  incident: (id) => request('GET', `/incidents/${enc(id)}`),
  /** @param {Record<string, unknown>} body */
  createIncident: (body) => request('POST', '/incidents', body),
  /** @param {string} id @param {Record<string, unknown>} body */
  updateIncident: (id, body) => request('PATCH', `/incidents/${enc(id)}`, body),

  // CSV/JSON exports for CPOMS, MyConcern, a chronology (dsl; each download is audited)
  /** @param {'incidents' | 'alerts'} kind @param {Record<string, unknown>} params */
  exportRangeUrl: (kind, params) => `${BASE}/exports/${kind}${query(params)}`,
  /** @param {'incidents' | 'alerts'} kind @param {string} id @param {'csv' | 'json'} format */
  exportOneUrl: (kind, id, format) => `${BASE}/exports/${kind}/${enc(id)}${query({ format })}`,

  // dual control for revealing screenshots (dsl)
  /** @param {string} id */
  revealAccess: (id) => request('GET', `/alerts/${enc(id)}/reveal-access`),
  /** @param {string} id @param {string} reason */
  requestReveal: (id, reason) => request('POST', `/alerts/${enc(id)}/reveal-requests`, { reason }),
  /** @param {string} [state] */
  revealRequests: (state) => request('GET', `/dual-control/requests${query({ state })}`),
  /** @param {string} id */
  approveReveal: (id) => request('POST', `/dual-control/requests/${enc(id)}/approve`, {}),
  /** @param {string} id @param {string} reason */
  rejectReveal: (id, reason) => request('POST', `/dual-control/requests/${enc(id)}/reject`, { reason }),
  dualControlSettings: () => request('GET', '/dual-control/settings'),
  /** @param {Record<string, unknown>} body */
  putDualControlSettings: (body) => request('PUT', '/dual-control/settings', body),
  approveDualControlChange: () => request('POST', '/dual-control/settings/approve', {}),

  // DSL accounts waiting for a DSL's approval, and the DSL's notifications (dsl)
  dslRequests: () => request('GET', '/dsl-requests'),
  /** @param {string} id */
  approveDslRequest: (id) => request('POST', `/dsl-requests/${enc(id)}/approve`, {}),
  /** @param {string} id @param {string} reason */
  rejectDslRequest: (id, reason) => request('POST', `/dsl-requests/${enc(id)}/reject`, { reason }),
  /** The notifications addressed to your role (each role its own). */
  notifications: () => request('GET', '/notifications'),

  // notification settings (admin, dsl)
  notifySettings: () => request('GET', '/notify/settings'),
  /** @param {Record<string, unknown>} patch */
  putNotifySettings: (patch) => request('PUT', '/notify/settings', patch),
  /** @param {{ name: string, url: string, events: string[] }} body */
  createWebhook: (body) => request('POST', '/notify/webhooks', body),
  /** @param {string} id */
  deleteWebhook: (id) => request('DELETE', `/notify/webhooks/${enc(id)}`),
  /** @param {{ channel: 'email' | 'webhook', to?: string, webhookId?: string }} body */
  notifyTest: (body) => request('POST', '/notify/test', body),
  /** @param {Record<string, unknown>} params */
  notifyDeliveries: (params) => request('GET', `/notify/deliveries${query(params)}`),
  // a school's own notify layer (admin, dsl of that school)
  /** @param {string} schoolId */
  schoolNotifySettings: (schoolId) => request('GET', `/notify/schools/${enc(schoolId)}/settings`),
  /** @param {string} schoolId @param {Record<string, unknown>} patch */
  putSchoolNotifySettings: (schoolId, patch) =>
    request('PUT', `/notify/schools/${enc(schoolId)}/settings`, patch),
  /** @param {string} schoolId */
  deleteSchoolNotifySettings: (schoolId) => request('DELETE', `/notify/schools/${enc(schoolId)}/settings`),

  // reports (governor, dsl, admin) and audit (admin)
  /** @param {Record<string, unknown>} params */
  report: (params) => request('GET', `/reports/termly${query(params)}`),
  /** @param {Record<string, unknown>} params */
  readsReport: (params) => request('GET', `/reports/reads${query(params)}`),
  /** @param {Record<string, unknown>} params */
  audit: (params) => request('GET', `/audit${query(params)}`),
};

/**
 * Fetches a binary resource with the session (for the audited screenshot) as an object URL.
 * @param {string} url
 */
export async function fetchBlobUrl(url) {
  return URL.createObjectURL(await (await fetchBinary(url)).blob());
}

/**
 * Fetches a download (the subject access zip) with the session: an object URL to save, its size
 * and the file name the server gave. Errors come back as ApiError with the server's code.
 * @param {string} url @param {string} fallbackName
 */
export async function fetchDownload(url, fallbackName) {
  const res = await fetchBinary(url);
  const blob = await res.blob();
  const named = /filename="([^"/\\]{1,200})"/.exec(res.headers.get('content-disposition') ?? '');
  return { href: URL.createObjectURL(blob), bytes: blob.size, name: named?.[1] ?? fallbackName };
}

/** @param {string} url */
async function fetchBinary(url) {
  const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) {
    let code = OPTIONS.errorCodes.BAD_RESPONSE;
    let message = `request failed (${res.status})`;
    try {
      const data = await res.json();
      code = data?.error?.code ?? code;
      message = data?.error?.message ?? message;
    } catch {
      // not JSON: keep the status-based message
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}
