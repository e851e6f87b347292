import { describe, expect, it } from 'vitest';
import { checkBrowserMessage, extensionIdFromOrigin, LIMITS } from '../../src/native-host/messages.ts';

const page = { kind: 'page', url: 'https://a.test/x', title: 'T', text: 'hello' };

describe('browser messages', () => {
  it('accepts the four kinds as sent by the extension', () => {
    expect(checkBrowserMessage(page)).toEqual({ ok: true, message: page });
    expect(checkBrowserMessage({ ...page, kind: 'typed' })).toMatchObject({ ok: true });
    expect(checkBrowserMessage({ kind: 'url', url: 'http://a.test/?q=x', title: '' })).toMatchObject({
      ok: true,
    });
    expect(checkBrowserMessage({ kind: 'hello', version: '1.0.0' })).toMatchObject({ ok: true });
  });

  it('drops everything else with a reason', () => {
    const cases: [unknown, string][] = [
      [null, 'not-an-object'],
      [[page], 'not-an-object'],
      ['page', 'not-an-object'],
      [{ kind: 'exec' }, 'unknown-kind'],
      [{ kind: 'toString' }, 'unknown-kind'],
      [{ ...page, extra: 1 }, 'unexpected-field'],
      [{ ...page, url: 'javascript:alert(1)' }, 'not-a-web-page'],
      [{ ...page, url: 'chrome://settings' }, 'not-a-web-page'],
      [{ ...page, text: 5 }, 'bad-field'],
      [{ ...page, title: 'x'.repeat(LIMITS.title + 1) }, 'bad-field'],
      [{ ...page, text: 'x'.repeat(LIMITS.pageText + 1) }, 'bad-field'],
      [{ ...page, kind: 'typed', text: 'x'.repeat(LIMITS.typedText + 1) }, 'bad-field'],
      [{ kind: 'url', url: 'https://a.test/', title: 't', text: 'x' }, 'unexpected-field'],
    ];
    for (const [raw, reason] of cases) expect(checkBrowserMessage(raw)).toEqual({ ok: false, reason });
  });

  it('reads the extension id from the caller origin only in its exact form', () => {
    const id = 'abcdefghijklmnopabcdefghijklmnop';
    expect(extensionIdFromOrigin(`chrome-extension://${id}/`)).toBe(id);
    expect(extensionIdFromOrigin(`chrome-extension://${id}`)).toBeUndefined();
    expect(extensionIdFromOrigin(`chrome-extension://${id}/x`)).toBeUndefined();
    expect(extensionIdFromOrigin(`chrome-extension://${'q'.repeat(32)}/`)).toBeUndefined();
    expect(extensionIdFromOrigin(undefined)).toBeUndefined();
  });
});
