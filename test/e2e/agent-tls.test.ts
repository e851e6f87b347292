// Agent ↔ collector over TLS (issue 11 §7, issue 12 §6), with a real collector process serving
// certificates made by openssl here, and real agent processes:
// - enrol over https with --ca and stream over wss; the CA is pinned in credentials.json;
// - trust on first use: a CA the machine trusts at enrolment is pinned, and a collector that
//   later presents a certificate from another CA the machine ALSO trusts (a man in the middle
//   with a "good" certificate) is refused, saying why, until the right certificate is back;
// - self-signed, wrong CA and wrong host name are refused at enrolment, saying why;
// - plain http to a collector that is not on this machine is refused before a byte is sent;
//   --insecure enrols anyway and the collector shows the warning on the device.

import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, agentCli, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { type CertFiles, createTestPki, type TestPki } from '../support/test-ca.ts';
import { waitFor } from '../support/wait-for.ts';

let pki: TestPki;
let caA: CertFiles;
let caB: CertFiles;
let leafA: CertFiles;
let leafB: CertFiles;
let selfSigned: CertFiles;
let wrongName: CertFiles;
let served: CertFiles; // the files the collector is started with; swapped between cases
let collector: CollectorProcess;
const dirs: string[] = [];
const agents: AgentProcess[] = [];

async function serve(c: CertFiles): Promise<void> {
  await copyFile(c.cert, served.cert);
  await copyFile(c.key, served.key);
}

async function newDataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'custodian-agent-tls-'));
  dirs.push(d);
  return d;
}

function machineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CUSTODIAN_AGENT_MACHINE_ID: [...crypto.getRandomValues(new Uint8Array(16))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join(''),
    ...extra,
  };
  delete env['NODE_TLS_REJECT_UNAUTHORIZED'];
  if (!('NODE_EXTRA_CA_CERTS' in extra)) delete env['NODE_EXTRA_CA_CERTS'];
  return env;
}

/** The collector's URL by the name its certificates carry. */
function httpsUrl(): string {
  return `https://localhost:${collector.port}`;
}

/** GET on the collector's API as admin, trusting CA A (the test's own client). */
function api(path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    void readFile(caA.cert, 'utf8').then((ca) => {
      const req = request(
        `${httpsUrl()}${path}`,
        { ca, headers: { authorization: `Bearer ${collector.adminToken}` } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(JSON.parse(body))
              : reject(new Error(`${path}: HTTP ${res.statusCode} ${body}`)),
          );
        },
      );
      req.on('error', reject);
      req.end();
    }, reject);
  });
}

async function enrolFails(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const dataDir = await newDataDir();
  const err = await agentCli(['enrol', '--data-dir', dataDir, ...args], { env }).then(
    () => undefined,
    (e: Error & { stderr?: string }) => e,
  );
  expect(err, 'enrolment should have been refused').toBeDefined();
  await expect(stat(join(dataDir, 'credentials.json'))).rejects.toThrow(/ENOENT/);
  return `${err!.message}`;
}

beforeAll(async () => {
  pki = await createTestPki();
  caA = await pki.ca('ca-a');
  caB = await pki.ca('ca-b');
  leafA = await pki.leaf('leaf-a', ['localhost', '127.0.0.1'], caA);
  leafB = await pki.leaf('leaf-b', ['localhost', '127.0.0.1'], caB);
  selfSigned = await pki.leaf('self-signed', ['localhost', '127.0.0.1']);
  wrongName = await pki.leaf('wrong-name', ['collector.example'], caA);
  served = { cert: join(pki.dir, 'served.pem'), key: join(pki.dir, 'served.key') };
  await serve(leafA);
  collector = await startCollector({ args: ['--tls-cert', served.cert, '--tls-key', served.key] });
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  await collector?.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await pki?.cleanup();
});

describe('agent over TLS with a real collector', () => {
  it('enrols over https with --ca, pins that CA and streams over wss', async () => {
    const dataDir = await newDataDir();
    await agentCli(['enrol', '--server', httpsUrl(), '--ca', caA.cert, '--data-dir', dataDir], {
      env: machineEnv({ CUSTODIAN_ENROL_SECRET: collector.enrolSecret }),
    });
    const creds = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8'));
    const fpA = new X509Certificate(await readFile(caA.cert)).fingerprint256;
    expect(creds.tls).toMatchObject({ source: 'ca-file', fingerprint256: fpA });
    expect(creds.serverUrl).toBe(httpsUrl());

    const agent = await startAgent({ dataDir, env: machineEnv() });
    agents.push(agent);
    await waitFor(async () => (await agent.status()).link?.status === 'connected', 'agent connected', 30_000);
    const device = await waitFor(
      async () => {
        const d = (await api(`/api/v1/devices/${creds.deviceId}`))['device'] as Record<string, unknown>;
        return JSON.stringify(d).includes('secure_transport') ? d : undefined;
      },
      'device capabilities',
      30_000,
    );
    expect(JSON.stringify(device)).toMatch(/"name":"secure_transport","available":true/);
    const tl = (await api(`/api/v1/devices/${creds.deviceId}/timeline?kinds=agentStarted`))[
      'events'
    ] as unknown[];
    expect(tl.length).toBe(1);
    await agent.stop();
  }, 120_000);

  it('trust on first use: pins the CA that vouched at enrolment, refuses another trusted CA later, saying why', async () => {
    const dataDir = await newDataDir();
    // At enrolment the machine trusts CA A (as a system store would).
    await agentCli(['enrol', '--server', httpsUrl(), '--data-dir', dataDir], {
      env: machineEnv({ CUSTODIAN_ENROL_SECRET: collector.enrolSecret, NODE_EXTRA_CA_CERTS: caA.cert }),
    });
    const creds = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8'));
    expect(creds.tls).toMatchObject({
      source: 'first-use',
      fingerprint256: new X509Certificate(await readFile(caA.cert)).fingerprint256,
    });

    // Later the collector's address answers with a certificate from CA B, which this machine
    // trusts too: the pin must win.
    await serve(leafB);
    await collector.restart();
    try {
      const agent = await startAgent({ dataDir, env: machineEnv({ NODE_EXTRA_CA_CERTS: caB.cert }) });
      agents.push(agent);
      const st = await waitFor(
        async () => {
          const s = (await agent.status()) as { link?: { status: string; lastError?: string } };
          return s.link?.lastError ? s.link : undefined;
        },
        'a link error',
        30_000,
      );
      expect(st.status).not.toBe('connected');
      expect(st.lastError).toMatch(
        /TLS refused: the collector certificate chains to a CA that is not trusted|not signed by a trusted CA/,
      );
      expect(st.lastError).toContain('pinned at enrolment');
      expect(st.lastError).toContain('Custodian ca-a');
      expect(agent.logs()).toContain('collector certificate refused');
      await agent.stop();

      // The right certificate back: the same agent data dir connects (the refusal was the pin).
      await serve(leafA);
      await collector.restart();
      const again = await startAgent({ dataDir, env: machineEnv({ NODE_EXTRA_CA_CERTS: caB.cert }) });
      agents.push(again);
      await waitFor(
        async () => (await again.status()).link?.status === 'connected',
        'agent connected',
        30_000,
      );
      await again.stop();
    } finally {
      await serve(leafA);
      await collector.restart();
    }
  }, 180_000);

  it('refuses a self-signed certificate at enrolment and says so', async () => {
    await serve(selfSigned);
    await collector.restart();
    try {
      const msg = await enrolFails(
        ['--server', httpsUrl()],
        machineEnv({ CUSTODIAN_ENROL_SECRET: collector.enrolSecret }),
      );
      expect(msg).toContain('CUST_ERR_TLS_UNTRUSTED');
      expect(msg).toContain('self-signed certificate');
    } finally {
      await serve(leafA);
      await collector.restart();
    }
  }, 120_000);

  it('refuses a certificate from another CA than --ca, and one for another host name, saying why', async () => {
    await serve(leafB);
    await collector.restart();
    try {
      const msg = await enrolFails(
        ['--server', httpsUrl(), '--ca', caA.cert],
        machineEnv({ CUSTODIAN_ENROL_SECRET: collector.enrolSecret }),
      );
      expect(msg).toContain('CUST_ERR_TLS_UNTRUSTED');
      expect(msg).toMatch(/not signed by a trusted CA|chains to a CA that is not trusted/);
      expect(msg).toContain('Custodian ca-a');

      await serve(wrongName);
      await collector.restart();
      const named = await enrolFails(
        ['--server', httpsUrl(), '--ca', caA.cert],
        machineEnv({ CUSTODIAN_ENROL_SECRET: collector.enrolSecret }),
      );
      expect(named).toContain('CUST_ERR_TLS_UNTRUSTED');
      expect(named).toContain('for another host name');
    } finally {
      await serve(leafA);
      await collector.restart();
    }
  }, 120_000);
});

function nonLoopbackIPv4(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this test needs a non-loopback IPv4 address');
}

describe('plain http', () => {
  it('is refused for a collector off this machine before a single byte is sent', async () => {
    const ip = nonLoopbackIPv4();
    let bytes = 0;
    let connections = 0;
    const listener: Server = createServer((s) => {
      connections++;
      s.on('data', (d) => {
        bytes += d.length;
      });
    });
    await new Promise<void>((r) => listener.listen(0, ip, r));
    const port = (listener.address() as { port: number }).port;
    try {
      const msg = await enrolFails(
        ['--server', `http://${ip}:${port}`],
        machineEnv({ CUSTODIAN_ENROL_SECRET: 'a-secret-that-must-not-travel' }),
      );
      expect(msg).toContain('CUST_ERR_INSECURE_TRANSPORT');
      expect(msg).toContain('--insecure');
      expect(connections).toBe(0);
      expect(bytes).toBe(0);
    } finally {
      await new Promise((r) => listener.close(r));
    }
  }, 60_000);

  it('--insecure enrols anyway, and the collector shows the warning on the device', async () => {
    const plain = await startCollector({ args: ['--host', '0.0.0.0'] });
    try {
      const server = `http://${nonLoopbackIPv4()}:${plain.port}`;
      const dataDir = await newDataDir();
      await agentCli(['enrol', '--server', server, '--insecure', '--data-dir', dataDir], {
        env: machineEnv({ CUSTODIAN_ENROL_SECRET: plain.enrolSecret }),
      });
      const creds = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8'));
      expect(creds.insecure).toBe(true);
      const agent = await startAgent({ dataDir, env: machineEnv() });
      agents.push(agent);
      const cap = await waitFor(
        async () => {
          const res = await fetch(`${server}/api/v1/devices/${creds.deviceId}`, {
            headers: { authorization: `Bearer ${plain.adminToken}` },
          });
          const text = await res.text();
          const m = /\{[^{}]*"name":"secure_transport"[^{}]*\}/.exec(text);
          return m ? (JSON.parse(m[0]) as { available: boolean; reason: string }) : undefined;
        },
        'the secure_transport capability',
        30_000,
      );
      expect(cap.available).toBe(false);
      expect(cap.reason).toContain('--insecure');
      expect(cap.reason).toContain('unencrypted');
      await agent.stop();
    } finally {
      await plain.cleanup();
    }
  }, 120_000);
});
