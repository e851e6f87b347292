// Issue 13 items 1 and 7: a route's declared schemas are checked before its handler, over real
// HTTP, with one error shape: 400 CUST_ERR_INVALID_INPUT, the failing field, and a message that
// tells the person what to send. A bug in a handler is 500 CUST_ERR_INTERNAL, not a storage error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { route } from '../../src/http/router.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
let deviceId: string;

beforeAll(async () => {
  h = await startHarness();
  deviceId = (await h.enrol()).deviceId;
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('request validation', () => {
  it('refuses an unknown command kind naming the field and the allowed values', async () => {
    const res = await h.api('POST', `/api/v1/devices/${deviceId}/commands`, { kind: 'REBOOT' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('CUST_ERR_INVALID_INPUT');
    expect(res.json.error.field).toBe('body.kind');
    expect(res.json.error.message).toContain('LOCK_NOW, RESCAN_USB, REFRESH_INVENTORY');
  });

  it('checks the body before the handler: a bad body for an unknown device is 400, not 404', async () => {
    const res = await h.api('POST', '/api/v1/devices/no-such-device/revoke', {});
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field: 'body.reason' });
    expect(res.json.error.message).toMatch(/^reason is required: why/);
    // The same request with a valid body reaches the handler.
    const ok = await h.api('POST', '/api/v1/devices/no-such-device/revoke', { reason: 'lost' });
    expect(ok.status).toBe(404);
  });

  it('refuses a blank reason, a control character, a misspelt field and a body that is not an object', async () => {
    const path = `/api/v1/devices/${deviceId}/retire`;
    for (const [body, field] of [
      [{ reason: '   ' }, 'body.reason'],
      [{ reason: 'lost\u0000' }, 'body.reason'],
      [{ reasn: 'lost' }, 'body.reasn'],
      [['lost'], 'body'],
    ] as const) {
      const res = await h.api('POST', path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error, JSON.stringify(body)).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field });
    }
    const typo = await h.api('POST', path, { reasn: 'lost' });
    expect(typo.json.error.message).toContain('check the spelling');
    // Nothing was retired by any of them.
    expect((await h.api('GET', `/api/v1/devices/${deviceId}`)).json.device.retiredAt).toBeUndefined();
  });

  it('reads query numbers, lists and times, and names the bad one', async () => {
    const base = `/api/v1/devices/${deviceId}/timeline`;
    const tooMany = await h.api('GET', `${base}?limit=5000`);
    expect(tooMany).toMatchObject({ status: 400, json: { error: { field: 'query.limit' } } });
    expect(tooMany.json.error.message).toContain('from 1 to 1000');
    expect((await h.api('GET', `${base}?limit=ten`)).json.error.field).toBe('query.limit');
    expect((await h.api('GET', `${base}?kinds=usb,nonsense`)).json.error.field).toMatch(/^query\.kinds/);
    expect((await h.api('GET', `${base}?from=yesterday`)).json.error.field).toBe('query.from');
    const ok = await h.api(
      'GET',
      `${base}?limit=5&kinds=usbAttached,activeWindow&from=2026-01-01T00:00:00Z&to=0`,
    );
    expect(ok.status).toBe(200);
    expect(ok.json.events).toEqual([]);
  });
});

describe('handler bugs', () => {
  it('answers 500 CUST_ERR_INTERNAL (not a storage or availability code) and says nothing more', async () => {
    h.app.router.add(
      route({
        method: 'GET',
        path: '/api/v1/test-only/bug',
        access: 'public',
        schema: {},
        handler: () => {
          throw new TypeError("Cannot read properties of undefined (reading 'secret')");
        },
      }),
    );
    const res = await h.api('GET', '/api/v1/test-only/bug', undefined, null);
    expect(res).toEqual({
      status: 500,
      json: { error: { code: 'CUST_ERR_INTERNAL', message: 'internal error' } },
    });
  });
});
