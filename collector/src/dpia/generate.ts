// The DPIA draft as Markdown, from facts read off the live collector (facts.ts). Pure and
// deterministic: the same facts give the same text, byte for byte, so a stored version changes
// only when the configuration does (no clock in the text; the version's date is beside it).
// It is a draft for the school's DPO: it says what this installation does, the DPO adds the
// judgement (necessity, proportionality, risks to children) in the places marked TO COMPLETE.
import type { Policy } from '@custodian/policy';
import type { Access, Role } from '../http/router.ts';

export interface DpiaSettings {
  /** The school (data controller) as it should appear in the document. */
  controller: string;
  /** How to reach the Data Protection Officer. */
  dpoContact: string;
  /** Organisations that process the data for the school (hosting, backup, email relay…). */
  processors: { name: string; purpose: string; location: string }[];
  /** Where the collector runs (e.g. "on-premises server in the school's comms room", "UK cloud VM"). */
  hosting: string;
}

export const DEFAULT_DPIA_SETTINGS: DpiaSettings = {
  controller: '',
  dpoContact: '',
  processors: [],
  hosting: '',
};

export interface DpiaFacts {
  settings: DpiaSettings;
  policy: Policy;
  /** Devices with their own policy changes, and which sections those touch. */
  overrides: { deviceId: string; sections: string[] }[];
  devices: { school: number; byod: number };
  agreement: { version: string; sha256: string };
  /** Every route: who may call it (the same rules the server enforces). */
  routes: { method: string; path: string; access: Access }[];
  roles: readonly Role[];
  retention: Record<string, number>;
  storage: {
    dataDir: string;
    screenshotKeyFile: string;
    tls: boolean;
    secureCookies: string;
    itBrowsingDetail: string;
    sessionIdleMinutes: number;
  };
}

const TODO = '_TO COMPLETE by the DPO._';
const yesNo = (b: boolean) => (b ? 'yes' : 'no');
const orTodo = (s: string) => (s.trim() === '' ? TODO : s);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');

/** `/api/v1/alerts/:id/screenshots/:blobId` → `alerts`; non-API paths (console, metrics) → undefined. */
function areaOf(path: string): string | undefined {
  const m = /^\/api\/v1\/([a-z0-9-]+)/.exec(path);
  return m?.[1];
}

/**
 * Who can see what, derived from the routes' access rules: per API area and role, `read` (a GET
 * the role may call), `change` (any other method), or nothing. Public routes are listed apart.
 */
export function roleMatrix(
  routes: DpiaFacts['routes'],
  roles: readonly Role[],
): { area: string; cells: Record<string, string>; public: boolean }[] {
  const areas = new Map<string, { read: Set<string>; change: Set<string>; public: boolean }>();
  for (const r of routes) {
    const area = areaOf(r.path);
    if (area === undefined) continue;
    const a = areas.get(area) ?? { read: new Set(), change: new Set(), public: false };
    areas.set(area, a);
    if (r.access === 'public') {
      a.public = true;
      continue;
    }
    for (const role of r.access) (r.method === 'GET' ? a.read : a.change).add(role);
  }
  return [...areas.entries()]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([area, a]) => ({
      area,
      public: a.public,
      cells: Object.fromEntries(
        roles.map((role) => {
          const can = [a.read.has(role) ? 'read' : '', a.change.has(role) ? 'change' : ''].filter(Boolean);
          return [role, can.length ? can.join(', ') : '—'];
        }),
      ),
    }));
}

/** Top-level policy keys section 2 puts into words. */
const DESCRIBED_POLICY_KEYS = [
  'version',
  'idleLock',
  'usb',
  'capture',
  'heartbeatSeconds',
  'windowSampleMs',
  'byodScope',
];

/** Where and when a personal device is monitored (policy `byodScope`), in words. */
function byodScopeWords(scope: Policy['byodScope'] | undefined): string {
  if (!scope || scope.mode === 'always')
    return 'monitored whenever the agent runs, on and off the school site (policy `byodScope.mode` = `always`)';
  const where = `only while on the school's network (rules: ${scope.networks.map((n) => cell(n.name)).join(', ') || 'none'})`;
  const when = `only in school hours (${scope.hours.periods.map((p) => `${p.days.join('/')} ${p.start}–${p.end}`).join('; ') || 'none'}, ${cell(scope.hours.timezone)})`;
  const rule =
    scope.mode === 'on-premises' ? where : scope.mode === 'school-hours' ? when : `${where} and ${when}`;
  return `monitored ${rule}; outside that the agent collects nothing (no events, captures, screenshots or typed text; heartbeats say "out of scope"), idle lock and USB control are off, and the owner is told when monitoring starts and stops`;
}

const RETENTION_LABELS: Record<string, string> = {
  timelineDays: 'Device timeline (activity events)',
  screenshotDays: 'Screenshots',
  retiredDays: "A retired device's data",
  incompleteUploadHours: 'Incomplete screenshot uploads (hours)',
  purgeIntervalMinutes: 'Purge runs every (minutes)',
};

export function renderDpia(f: DpiaFacts): string {
  const p = f.policy;
  const c = p.capture;
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  line('# Data Protection Impact Assessment — Custodian device monitoring (draft)');
  line();
  line(
    'Generated from the live configuration of this Custodian collector. Sections marked TO COMPLETE need the judgement of the Data Protection Officer; everything else describes what the system is configured to do now and is regenerated when that changes.',
  );
  line();
  line('## 1. Controller and contacts');
  line();
  line(`- Data controller: ${orTodo(f.settings.controller)}`);
  line(`- Data Protection Officer: ${orTodo(f.settings.dpoContact)}`);
  line();
  line('## 2. What is collected, from which devices');
  line();
  line(
    `- Devices enrolled (not revoked): ${f.devices.school} school-owned, ${f.devices.byod} personal (BYOD).`,
  );
  line(`- Policy version in force: ${p.version}.`);
  line(
    `- Idle lock: ${p.idleLock.enabled ? `on, after ${p.idleLock.idleLockSeconds} s idle (warning ${p.idleLock.warningSeconds} s before)` : 'off'}${p.idleLock.reportOnly ? ', report only (never locks)' : ''}.`,
  );
  line(
    `- USB storage: mode \`${p.usb.mode}\`; ${p.usb.allow.length} allow-listed device(s). Each USB volume (vendor, product, serial, label, encryption) and each decision is recorded.`,
  );
  line(
    `- Activity: the active application and window title (and URL of the browser tab) are recorded on the device timeline, sampled every ${p.windowSampleMs} ms; a heartbeat every ${p.heartbeatSeconds} s (logged-in user, idle state, lock state).`,
  );
  line(`- Safeguarding capture: ${c.enabled ? 'on' : 'off'}.`);
  if (c.enabled) {
    line(
      `  - Words checked against the safeguarding library (age band \`${c.ageBand}\`, minimum severity ${c.minSeverity}, categories: ${c.categories.length ? c.categories.join(', ') : 'all'}, ${c.customTerms.length} school-added term(s)).`,
    );
    line('  - Sources checked: window titles and URLs (always, while capture is on);');
    line(
      `    typed text: ${yesNo(c.typedText)} (kept in memory on the device per window; only a match's context leaves it);`,
    );
    line(
      `    text on screen (OCR of the active window): ${yesNo(c.screenText)}${c.screenText ? `, at most every ${c.screenScanSeconds} s and ${c.ocrCpuSecondsPerHour} s of OCR an hour` : ''}.`,
    );
    line(
      `  - On a match: an alert (term, category, a short context, the window) and screenshots (${c.frames} frame(s) on a title/screen match, ${c.typedFrames} on a typed-text match), the same match suppressed for ${c.repeatSuppressSeconds} s.`,
    );
  }
  if (f.overrides.length > 0) {
    line(
      `- ${f.overrides.length} device(s) have their own policy changes on top of this default (sections: ${[...new Set(f.overrides.flatMap((o) => o.sections))].sort().join(', ')}).`,
    );
  } else line('- No device has its own policy: every device runs the default above.');
  line();
  line('## 3. Scope of monitoring');
  line();
  line(
    '- School-owned devices: monitored whenever the agent runs (while anyone is logged in), on and off the school site.',
  );
  line(`- Personal devices (BYOD): ${byodScopeWords(p.byodScope)}.`);
  line(
    `- Personal devices (BYOD): enrolled only with a one-time code and the owner's recorded acceptance of the acceptable use agreement (current version ${f.agreement.version}, SHA-256 \`${f.agreement.sha256}\`); every acceptance is kept (name, date, version, text hash). The owner can see the agent's state (\`custodian-agent status\`) and unenrol.`,
  );
  // Policy sections this generator does not describe in words yet (a scope setting added later,
  // say) are still listed as they are, so the draft never leaves out what the devices receive.
  for (const [k, v] of Object.entries(p as unknown as Record<string, unknown>))
    if (!DESCRIBED_POLICY_KEYS.includes(k))
      line(`- Policy setting \`${k}\`: \`${cell(JSON.stringify(v))}\`.`);
  line(`- Lawful basis and necessity: ${TODO}`);
  line();
  line('## 4. Who can see what');
  line();
  line(
    "Derived from the access rule of every API route of this collector (the same rules the server enforces). `read` = may view, `change` = may create, edit or act. Safeguarding content (matched words, contexts, screenshots, incidents) is in the alerts and incidents areas; other roles see that an alert exists, never what it says, and device text that matches the safeguarding library is hidden from everyone but the DSL. The admin API token has the admin role's rights.",
  );
  line();
  const matrix = roleMatrix(f.routes, f.roles);
  line(`| area | ${f.roles.join(' | ')} | public |`);
  line(`|---|${f.roles.map(() => '---|').join('')}---|`);
  for (const row of matrix)
    line(`| ${row.area} | ${f.roles.map((r) => row.cells[r]).join(' | ')} | ${row.public ? 'yes' : '—'} |`);
  line();
  line(
    `- IT staff see browsing as configured: \`${f.storage.itBrowsingDetail}\` (app-and-domain: application and site domain only, no window titles).`,
  );
  line(
    '- Every view of safeguarding content (alert, queue, screenshot, incident, timeline, export) is written to the audit log; governors see the number of views by role and month.',
  );
  line();
  line('## 5. Retention');
  line();
  line('| data | kept for |');
  line('|---|---|');
  for (const [k, v] of Object.entries(f.retention).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const unit = /Hours$/.test(k) ? 'hours' : /Minutes$/.test(k) ? 'minutes' : 'days';
    line(`| ${cell(RETENTION_LABELS[k] ?? k)} | ${v} ${unit} |`);
  }
  line();
  line(`Periods not listed here (alerts, incidents, the audit log) are: ${TODO}`);
  line();
  line('## 6. Processors and where data lives');
  line();
  line(`- Hosting: ${orTodo(f.settings.hosting)}`);
  if (f.settings.processors.length === 0)
    line(`- Processors: none recorded (a self-hosted collector sends data to no third party). ${TODO}`);
  else {
    line();
    line('| processor | purpose | location |');
    line('|---|---|---|');
    for (const pr of f.settings.processors)
      line(`| ${cell(pr.name)} | ${cell(pr.purpose)} | ${cell(pr.location)} |`);
  }
  line();
  line(`- Data directory: \`${f.storage.dataDir}\` (created with mode 0700).`);
  line(
    `- Screenshots are encrypted at rest (AES-256-GCM); the key file is \`${f.storage.screenshotKeyFile}\`, outside the data directory unless configured otherwise.`,
  );
  line();
  line('## 7. Security measures');
  line();
  line(
    `- Transport: TLS served by the collector: ${yesNo(f.storage.tls)}; session cookie \`Secure\`: ${f.storage.secureCookies}.`,
  );
  line(
    `- Staff sign in with their own accounts and one role each; sessions end after ${f.storage.sessionIdleMinutes} minutes without a request; CSRF tokens on every change; a strict Content-Security-Policy in the console.`,
  );
  line(
    '- Devices authenticate with their own 256-bit key (only its hash is stored); an enrolment needs the organisation secret or a one-time code.',
  );
  line(
    '- The audit log is append-only: logins, policy and role changes, exports and every view of safeguarding content.',
  );
  line();
  line('## 8. Risks and mitigations');
  line();
  line(TODO);
  line();
  return `${out.join('\n')}\n`;
}
