// One protocol conformance suite for anything that plays the collector in the agent's tests:
// run against the fake collector (fake-collector.ts) and against a real collector process
// (link/collector-conformance.test.ts), it holds the fake to what the agent tests rely on —
// enrolment answers and error codes, Welcome/Ack semantics with replays, close codes, blob
// acks, pings, policy push, revocation, state across a restart. A foreign `ws` client speaks
// the .proto (collector/test/helpers/agent-client.ts); nothing here knows which side it talks to.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { BLOB_CHUNK_BYTES, CloseCode, type IEvent, v1 } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../../collector/test/helpers/agent-client.ts';

export interface CollectorUnderTest {
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly enrolSecret: string;
  /** A BYOD one-time code, valid for one enrolment. */
  byodCode(): Promise<string>;
  revoke(deviceId: string): Promise<void>;
  /** Gives the device a policy of its own; resolves with the version the collector will push. */
  givePolicy(deviceId: string): Promise<number>;
  /** Stops and starts again on the same state and port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

interface Enrolled {
  deviceId: string;
  deviceKey: string;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read API JSON fields directly
type Json = Record<string, any>;

async function post(url: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

const facts = () => ({
  machineId: randomBytes(16).toString('hex'),
  hostname: 'conformance',
  os: 'linux',
  serial: `SN-${randomUUID().slice(0, 8)}`,
});

const events = (from: number, to: number): IEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: from + i,
    timeMs: Date.now(),
    heartbeat: { uptimeSeconds: from + i, loggedInUser: 'pupil', outboxDepth: 0 },
  }));

const chunk = (
  blobId: string,
  data: Buffer,
  index: number,
  totalChunks: number,
  contentType = 'image/png',
) => ({
  blobChunk: {
    blobId,
    index,
    totalChunks,
    totalSize: data.byteLength,
    sha256: createHash('sha256').update(data).digest(),
    contentType,
    data: data.subarray(index * BLOB_CHUNK_BYTES, (index + 1) * BLOB_CHUNK_BYTES),
  },
});

export function collectorConformance(name: string, open: () => Promise<CollectorUnderTest>): void {
  describe(`collector conformance: ${name}`, () => {
    let c: CollectorUnderTest;
    const wsUrl = () => `${c.url.replace(/^http/, 'ws')}/ws/agent`;

    beforeAll(async () => {
      c = await open();
    });
    afterAll(async () => {
      await c?.close();
    });

    async function enrol(): Promise<Enrolled> {
      const res = await post(`${c.url}/api/v1/enrol`, { secret: c.enrolSecret, ...facts() });
      expect(res.status).toBe(200);
      return { deviceId: res.json['deviceId'], deviceKey: res.json['deviceKey'] };
    }

    /** Opens a session: Hello sent, Welcome received (returned). */
    async function session(dev: Enrolled, streamId: string, key = dev.deviceKey) {
      const client = new AgentClient(wsUrl());
      await client.opened;
      client.send({
        hello: {
          deviceId: dev.deviceId,
          deviceKey: key,
          streamId,
          agentVersion: 'conformance',
          os: 'linux',
          lastSeq: 0,
          policyVersion: 0,
        },
      });
      const welcome = (await client.next('welcome')).welcome!;
      return { client, welcome };
    }

    async function refused(dev: Enrolled, key: string): Promise<number> {
      const client = new AgentClient(wsUrl());
      await client.opened;
      client.send({
        hello: {
          deviceId: dev.deviceId,
          deviceKey: key,
          streamId: randomUUID(),
          agentVersion: 'c',
          os: 'linux',
        },
      });
      return (await client.closed).code;
    }

    it('serves the agreement with the SHA-256 of its text', async () => {
      const res = await fetch(`${c.url}/api/v1/agreement`);
      expect(res.status).toBe(200);
      const a = (await res.json()) as { version: string; text: string; sha256: string };
      expect(a.version).not.toBe('');
      expect(a.text.length).toBeGreaterThan(0);
      expect(a.sha256).toBe(createHash('sha256').update(a.text).digest('hex'));
    });

    it('enrols with the secret and refuses a wrong one with CUST_ERR_BAD_ENROL_SECRET', async () => {
      const ok = await post(`${c.url}/api/v1/enrol`, { secret: c.enrolSecret, ...facts() });
      expect(ok.status).toBe(200);
      expect(ok.json['deviceId']).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
      expect(ok.json['deviceKey']).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const bad = await post(`${c.url}/api/v1/enrol`, { secret: 'wrong-secret-0123456789', ...facts() });
      expect(bad.status).toBe(403);
      expect(bad.json['error']?.code).toBe('CUST_ERR_BAD_ENROL_SECRET');
    });

    it('BYOD: needs the agreement accepted (400) and a good code (403); a code works once', async () => {
      const a = (await (await fetch(`${c.url}/api/v1/agreement`)).json()) as {
        version: string;
        sha256: string;
      };
      const code = await c.byodCode();
      const byod = (over: Record<string, unknown>) =>
        post(`${c.url}/api/v1/enrol`, {
          ...facts(),
          code,
          userName: 'Sam Pupil',
          acceptAgreement: true,
          agreementVersion: a.version,
          agreementSha256: a.sha256,
          ...over,
        });
      const notAccepted = await byod({ acceptAgreement: false });
      expect([notAccepted.status, notAccepted.json['error']?.code]).toEqual([
        400,
        'CUST_ERR_AGREEMENT_NOT_ACCEPTED',
      ]);
      const oldText = await byod({ agreementSha256: '0'.repeat(64) });
      expect([oldText.status, oldText.json['error']?.code]).toEqual([400, 'CUST_ERR_AGREEMENT_NOT_ACCEPTED']);
      const wrongCode = await byod({ code: 'ZZZZ-ZZZZ-ZZZZ' });
      expect([wrongCode.status, wrongCode.json['error']?.code]).toEqual([403, 'CUST_ERR_BAD_ENROL_CODE']);
      const ok = await byod({});
      expect(ok.status).toBe(200);
      expect(typeof ok.json['deviceKey']).toBe('string');
      const again = await byod({});
      expect([again.status, again.json['error']?.code]).toEqual([403, 'CUST_ERR_BAD_ENROL_CODE']);
    });

    it('welcomes a new stream at 0, acks each batch with its highest seq, and acks a replay as duplicates', async () => {
      const dev = await enrol();
      const stream = randomUUID();
      const { client, welcome } = await session(dev, stream);
      expect(Number(welcome.ackedSeq)).toBe(0);
      expect(await client.batch(stream, events(1, 3))).toMatchObject({
        streamId: stream,
        seq: 3,
        duplicates: 0,
      });
      expect(await client.batch(stream, events(1, 3))).toMatchObject({ seq: 3, duplicates: 3 });
      expect(await client.batch(stream, events(3, 5))).toMatchObject({ seq: 5, duplicates: 1 });
      client.close();
    });

    it('tells a reconnecting stream what it holds, after a reconnect and after a restart; a new stream starts at 0', async () => {
      const dev = await enrol();
      const stream = randomUUID();
      const first = await session(dev, stream);
      await first.client.batch(stream, events(1, 4));
      first.client.close();
      await first.client.closed;
      const second = await session(dev, stream);
      expect(Number(second.welcome.ackedSeq)).toBe(4);
      second.client.close();
      await second.client.closed;
      await c.restart();
      const third = await session(dev, stream);
      expect(Number(third.welcome.ackedSeq)).toBe(4);
      third.client.close();
      await third.client.closed;
      const fresh = await session(dev, randomUUID());
      expect(Number(fresh.welcome.ackedSeq)).toBe(0);
      fresh.client.close();
    });

    it('closes a wrong key or an unknown device with AUTH_FAILED', async () => {
      const dev = await enrol();
      expect(await refused(dev, randomBytes(32).toString('base64url'))).toBe(CloseCode.AUTH_FAILED);
      expect(await refused({ deviceId: 'no-such-device', deviceKey: '' }, dev.deviceKey)).toBe(
        CloseCode.AUTH_FAILED,
      );
    });

    it('a second session of a device replaces the first with REPLACED', async () => {
      const dev = await enrol();
      const stream = randomUUID();
      const first = await session(dev, stream);
      const second = await session(dev, stream);
      expect((await first.client.closed).code).toBe(CloseCode.REPLACED);
      expect(await second.client.batch(stream, events(1, 1))).toMatchObject({ seq: 1 });
      second.client.close();
    });

    it('answers pings', async () => {
      const dev = await enrol();
      const { client } = await session(dev, randomUUID());
      const pong = new Promise<Buffer>((resolve) => client.ws.once('pong', resolve));
      client.ws.ping(Buffer.from('are you there'));
      expect((await pong).toString()).toBe('are you there');
      client.close();
    });

    it('blobs: STORED when the SHA-256 matches (one chunk or several), HASH_MISMATCH when not, REJECTED for a content type it does not take', async () => {
      const dev = await enrol();
      const { client } = await session(dev, randomUUID());
      const ack = async () => (await client.next('blobAck')).blobAck!;

      const small = randomBytes(2_000);
      client.send(chunk('blob-one', small, 0, 1));
      expect(await ack()).toMatchObject({ blobId: 'blob-one', status: v1.BlobAck.Status.STORED });

      const large = randomBytes(BLOB_CHUNK_BYTES * 2 + 100);
      for (let i = 0; i < 3; i++) client.send(chunk('blob-three', large, i, 3));
      expect(await ack()).toMatchObject({ blobId: 'blob-three', status: v1.BlobAck.Status.STORED });

      const corrupt = chunk('blob-bad', small, 0, 1);
      const flipped = Buffer.from(small);
      flipped[0] = (flipped[0] ?? 0) ^ 0xff;
      corrupt.blobChunk.data = flipped;
      client.send(corrupt);
      expect(await ack()).toMatchObject({ blobId: 'blob-bad', status: v1.BlobAck.Status.HASH_MISMATCH });

      client.send(chunk('blob-gif', small, 0, 1, 'image/gif'));
      expect(await ack()).toMatchObject({ blobId: 'blob-gif', status: v1.BlobAck.Status.REJECTED });
      // None of these ended the session.
      expect(client.ws.readyState).toBe(client.ws.OPEN);
      client.close();
    });

    it("pushes the device's policy after Welcome", async () => {
      const dev = await enrol();
      const version = await c.givePolicy(dev.deviceId);
      const { client } = await session(dev, randomUUID());
      const policy = (await client.next('policy')).policy!;
      expect(Number(policy.version)).toBe(version);
      expect(policy.heartbeatSeconds).toBe(30);
      client.close();
    });

    it('takes PolicyApplied and CommandResult reports without closing the session', async () => {
      const dev = await enrol();
      const stream = randomUUID();
      const { client } = await session(dev, stream);
      client.send({ policyApplied: { version: 99, ok: false, error: 'windowSampleMs too small' } });
      client.send({ commandResult: { commandId: 'not-sent-by-you', ok: true, error: '' } });
      expect(await client.batch(stream, events(1, 1))).toMatchObject({ seq: 1 });
      client.close();
    });

    it('a revoked device is closed with DEVICE_REVOKED, and refused so on its next Hello', async () => {
      const dev = await enrol();
      const { client } = await session(dev, randomUUID());
      await c.revoke(dev.deviceId);
      expect((await client.closed).code).toBe(CloseCode.DEVICE_REVOKED);
      expect(await refused(dev, dev.deviceKey)).toBe(CloseCode.DEVICE_REVOKED);
    });
  });
}
