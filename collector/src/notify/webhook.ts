// Webhooks: a JSON POST signed with HMAC-SHA256 over `<timestamp>.<body>` using the webhook's
// secret. Headers: `x-custodian-timestamp` (Unix seconds), `x-custodian-signature`
// (`sha256=<hex>`), `x-custodian-delivery` (the outbox entry id: the same on every retry, so a
// receiver can drop a repeat). A receiver checks the signature and refuses old timestamps
// (replay). Any 2xx is delivered; anything else is retried with backoff by the sender loop.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-custodian-signature';
export const TIMESTAMP_HEADER = 'x-custodian-timestamp';
export const DELIVERY_HEADER = 'x-custodian-delivery';

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (and the tests): the signature over timestamp + body, and a timestamp within `toleranceSeconds`. */
export function verifyWebhook(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const want = Buffer.from(signWebhook(secret, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

export async function postWebhook(
  url: string,
  secret: string,
  json: Record<string, unknown>,
  deliveryId: string,
  nowMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const body = JSON.stringify({ ...json, deliveryId });
  const timestamp = String(Math.floor(nowMs / 1000));
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'custodian-collector',
      [TIMESTAMP_HEADER]: timestamp,
      [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
      [DELIVERY_HEADER]: deliveryId,
    },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  await res.body?.cancel().catch(() => undefined);
  return { ok: res.status >= 200 && res.status < 300, detail: `HTTP ${res.status}` };
}
