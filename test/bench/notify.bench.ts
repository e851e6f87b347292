// Flag → email accepted by the SMTP server, next to flag → alert stored, in the same run: a real
// collector process, a foreign `ws` agent client sending one flaggedActivity at a time, and a
// real SMTP server (smtp-server) on 127.0.0.1 in this process. "Alert stored" is the agent
// receiving the Ack (sent only after the group commit that opened the alert returned);
// "email accepted" is the SMTP server taking the end of the message (DATA done) for the rota's
// first contact. Both from the moment the batch was sent, on this process's clock.
// Statistics: median, p50 and p95 of FLAGS alerts after WARMUP untimed ones.
// Leaves out: a real relay's onward delivery to a mailbox (not ours to measure).
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { AgentClient, flagged } from '../../collector/test/helpers/agent-client.ts';
import { startSmtp } from '../../collector/test/notify/receivers.ts';
import { startCollector } from '../support/collector-process.ts';
import { percentile } from './stats.ts';
import type { BenchResult } from './types.ts';

const FLAGS = 40;
const WARMUP = 3;

/** Connect → the SMTP server's 220 greeting: smtp-server waits 100 ms before it (early-talker check). */
async function greetingMs(port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    c.once('error', reject);
    c.once('data', () => {
      resolve(performance.now() - t0);
      c.end('QUIT\r\n');
    });
  });
}

export async function run(): Promise<BenchResult> {
  const smtp = await startSmtp();
  const c = await startCollector();
  try {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${c.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, unknown>>;
    };
    await api('PUT', '/api/v1/notify/settings', {
      alertMinSeverity: 4,
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', user: '', from: 'custodian@school.test' },
      contacts: [{ id: 'dsl1', name: 'DSL', email: 'dsl1@school.test', role: 'dsl' }],
      rota: {
        escalateAfterMinutes: 60,
        stopOn: 'acknowledged',
        bands: [{ minSeverity: 1, window: 'any', contacts: ['dsl1'] }],
      },
    });
    const enrolled = (await fetch(`${c.url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        secret: c.enrolSecret,
        machineId: randomUUID(),
        hostname: 'bench',
        os: 'linux',
        serial: 'B1',
      }),
    }).then((r) => r.json())) as { deviceId: string; deviceKey: string };
    const agent = new AgentClient(c.wsUrl);
    const stream = randomUUID();
    await agent.hello(enrolled.deviceId, enrolled.deviceKey, stream);

    const stored: number[] = [];
    const emailed: number[] = [];
    for (let i = 0; i < WARMUP + FLAGS; i++) {
      const before = smtp.mails.length;
      const t0 = Date.now();
      await agent.batch(stream, [flagged(i + 1, `benchterm${i}`)]);
      const acked = Date.now();
      const mails = await smtp.waitFor(before + 1, 30_000);
      if (i < WARMUP) continue;
      stored.push(acked - t0);
      emailed.push(mails[before]!.acceptedAt - t0);
    }
    agent.close();
    const greetings: number[] = [];
    for (let i = 0; i < 20; i++) greetings.push(await greetingMs(smtp.port));
    greetings.sort((a, b) => a - b);
    stored.sort((a, b) => a - b);
    emailed.sort((a, b) => a - b);
    const s50 = percentile(stored, 50);
    const e50 = percentile(emailed, 50);
    return {
      title: 'Notifications: flag → email accepted by the SMTP server, next to flag → alert stored',
      rows: [
        { metric: `flag → alert stored (Ack), p50 of ${FLAGS}`, value: s50, unit: 'ms' },
        { metric: `flag → alert stored (Ack), p95 of ${FLAGS}`, value: percentile(stored, 95), unit: 'ms' },
        {
          metric: `flag → email accepted by the SMTP server, p50 of ${FLAGS}`,
          value: e50,
          unit: 'ms',
          baseline: s50,
          baselineLabel: 'flag → alert stored, p50',
          ratio: e50 / s50,
        },
        {
          metric: `flag → email accepted by the SMTP server, p95 of ${FLAGS}`,
          value: percentile(emailed, 95),
          unit: 'ms',
          baseline: percentile(stored, 95),
          baselineLabel: 'flag → alert stored, p95',
          ratio: percentile(emailed, 95) / percentile(stored, 95),
        },
      ],
      notes: [
        `Of the email figure, the SMTP server's own wait before its greeting is part: connect → 220 greeting measured alone in this run, p50 of 20: ${percentile(greetings, 50).toFixed(1)} ms (smtp-server holds every greeting 100 ms to catch clients that talk too soon; real relays such as Postfix's postscreen may wait longer). The collector's share is the rest.`,
        'A real collector process (default settings: group commit tick 2 ms, synced writes), one foreign ws agent client sending one flag at a time, a real SMTP server (smtp-server, plain SMTP on 127.0.0.1) in the bench process.',
        'The email leaves after the commit: ingest emits the alert post-commit, the notify module starts the rota and hands the message to nodemailer (one SMTP connection per message). The ack does not wait for it.',
        `${WARMUP} warm-up flags not timed.`,
      ],
    };
  } finally {
    await c.cleanup();
    await smtp.close();
  }
}
