// Real endpoints for the notification tests: an SMTP server (`smtp-server`) on 127.0.0.1 that
// keeps every raw message it accepts, and an HTTP webhook receiver that checks the signature
// like a school's receiver would, and can be told to fail its first N requests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhook,
} from '../../src/notify/webhook.ts';

export interface Mail {
  from: string;
  to: string[];
  raw: string;
  acceptedAt: number;
}

export async function startSmtp(port = 0): Promise<{
  port: number;
  mails: Mail[];
  waitFor(n: number, timeoutMs?: number): Promise<Mail[]>;
  close(): Promise<void>;
}> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    // No reverse DNS of 127.0.0.1 per connection (~100 ms here): the figures are the collector's.
    disableReverseLookup: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          acceptedAt: Date.now(),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const bound = (server.server.address() as AddressInfo).port;
  return {
    port: bound,
    mails,
    async waitFor(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (mails.length < n) {
        if (Date.now() > deadline)
          throw new Error(`only ${mails.length} of ${n} mails within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return mails;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The text of a mail with quoted-printable soft breaks and escapes undone (what a reader sees). */
export function decodedMail(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export interface WebhookHit {
  at: number;
  status: number;
  signatureOk: boolean;
  deliveryId: string;
  body: Record<string, unknown>;
}

export async function startWebhookReceiver(opts: {
  secret: () => string;
  failFirst?: number;
  port?: number;
}): Promise<{
  url: string;
  port: number;
  hits: WebhookHit[];
  accepted(): WebhookHit[];
  close(): Promise<void>;
}> {
  const hits: WebhookHit[] = [];
  let failures = opts.failFirst ?? 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const signatureOk = verifyWebhook(
        opts.secret(),
        {
          signature: req.headers[SIGNATURE_HEADER] as string | undefined,
          timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
        },
        text,
        Math.floor(Date.now() / 1000),
      );
      let status = 200;
      if (!signatureOk) status = 401;
      else if (failures > 0) {
        failures--;
        status = 500;
      }
      hits.push({
        at: Date.now(),
        status,
        signatureOk,
        deliveryId: String(req.headers[DELIVERY_HEADER] ?? ''),
        body: JSON.parse(text) as Record<string, unknown>,
      });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    hits,
    accepted: () => hits.filter((h) => h.status === 200),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
