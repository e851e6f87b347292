// Pure parts of the transport rules (issue 11 §7) and a review-by-grep that nothing in the
// agent turns TLS verification off. The end-to-end cases are in test/e2e/agent-tls.test.ts.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isCustodianError } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { classifyServerUrl, isLoopbackHost, transportCapability } from '../../src/link/transport.ts';

const agentRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

describe('transport rules', () => {
  it('counts only this machine as loopback', () => {
    for (const h of [
      '127.0.0.1',
      '127.255.0.9',
      'localhost',
      'LOCALHOST',
      'a.localhost',
      '[::1]',
      '::ffff:127.0.0.1',
    ])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of [
      '192.0.2.2',
      '10.0.0.1',
      '128.0.0.1',
      'localhost.example',
      'evil-localhost',
      '[::2]',
      '::ffff:10.0.0.1',
      '0.0.0.0',
    ])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses plain http off this machine unless --insecure, with its own error code', () => {
    expect(classifyServerUrl(new URL('https://custodian.school.uk'), false)).toBe('https');
    expect(classifyServerUrl(new URL('http://127.0.0.1:8080'), false)).toBe('loopback-http');
    expect(classifyServerUrl(new URL('http://[::1]:8080'), false)).toBe('loopback-http');
    expect(classifyServerUrl(new URL('http://collector.lan'), true)).toBe('insecure-http');
    let err: unknown;
    try {
      classifyServerUrl(new URL('http://collector.lan'), false);
    } catch (e) {
      err = e;
    }
    expect(isCustodianError(err, ErrorCode.INSECURE_TRANSPORT)).toBe(true);
  });

  it('reports an insecure link as an unavailable capability the console shows', () => {
    expect(transportCapability('http://collector.lan:8080', undefined)).toMatchObject({
      name: 'secure_transport',
      available: false,
    });
    expect(transportCapability('http://127.0.0.1:8080', undefined).available).toBe(true);
    expect(transportCapability('https://c.school.uk', undefined).reason).toContain('re-enrol to pin');
  });
});

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (/\.(ts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

describe('nothing in the agent disables TLS verification', () => {
  it('has no rejectUnauthorized, NODE_TLS_REJECT_UNAUTHORIZED, checkServerIdentity override or insecure parser', async () => {
    const files = [...(await sources(join(agentRoot, 'src'))), ...(await sources(join(agentRoot, 'bin')))];
    expect(files.length).toBeGreaterThan(50);
    const forbidden =
      /rejectUnauthorized|NODE_TLS_REJECT_UNAUTHORIZED|checkServerIdentity|insecureHTTPParser|setDefaultCACertificates|secureProtocol|--use-openssl-ca/;
    const hits: string[] = [];
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      text.split('\n').forEach((line, i) => {
        if (forbidden.test(line)) hits.push(`${f.slice(agentRoot.length + 1)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });

  it('gives `ca` to a connection only through the pinned trust (link/transport.ts)', async () => {
    const hits: string[] = [];
    for (const f of await sources(join(agentRoot, 'src'))) {
      if (f.endsWith(join('link', 'transport.ts'))) continue;
      const text = await readFile(f, 'utf8');
      // (`ca: { type: 'string' }` is the CLI's --ca option, not a TLS option)
      if (/\bca\s*:(?!\s*\{\s*type)/.test(text)) hits.push(f.slice(agentRoot.length + 1));
    }
    expect(hits).toEqual([]);
  });
});
