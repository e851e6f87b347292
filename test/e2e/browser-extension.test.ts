// The browser extension end to end (issue 15): Debian Chromium (headed on Xvfb, so the agent's
// screenshot shows it) with the extension loaded, the native host the agent generated, a real
// agent process and a real collector. Page text and typed text become alerts with their source
// and the tab's URL; password, credential and payment fields never leave the page; look-alikes
// give nothing.
import { readFile } from 'node:fs/promises';
import type { BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { storedTimeline } from '../support/collector-store.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import {
  type ExtensionFiles,
  launchWithExtension,
  makeExtensionFiles,
  readLog,
  servePages,
} from './browser-extension-helpers.ts';
import { type CaptureRig, startCaptureRig } from './capture-helpers.ts';

const tools = allInstalled(['Xvfb', 'openbox', 'xprop', 'xrandr', 'import', 'chromium']);

const html = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

const PAGES = {
  '/lookalike': html(
    'Sports results',
    '<p>Scunthorpe vs Essex - cocktail therapist analysis. LGBT history month assembly.</p>',
  ),
  '/article': html(
    'Year 9 reading list',
    '<h1>Blog</h1><p>Last night I looked up how to tie a noose and nobody noticed.</p>',
  ),
  // A long class chat (40 KiB of harmless lines, more than the extension's 32 KiB sample).
  '/chat': html(
    'Class chat',
    `<div id="log">${'<p>The quick brown fox jumps over the lazy dog, said Sam.</p>'.repeat(700)}</div>`,
  ),
  '/search': html('Search the library', '<input id="q" type="search" name="q" aria-label="search">'),
  '/login': html(
    'Sign in',
    `<input id="pw" type="password" autocomplete="current-password">
     <input id="card" type="text" autocomplete="cc-number">
     <input id="otp" type="text" autocomplete="one-time-code">
     <input id="pw2" type="password">
     <textarea id="note"></textarea>`,
  ),
};

/** Typed into password, card-number, one-time-code and shown-password fields: must never leave the page. */
const SECRETS = ['kill yourself', 'kill urself', 'unalive yourself', 'hope u die'];

let rig: CaptureRig | undefined;
let files: ExtensionFiles | undefined;
let browser: BrowserContext | undefined;
let site: { url: string; close(): Promise<void> } | undefined;
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await site?.close();
  await rig?.stop();
  await files?.cleanup();
});

describe.skipIf(!tools)('browser extension → native host → agent → alert at the collector', () => {
  it('page text and typed text alert with source and URL; secret fields and look-alikes never do', async () => {
    files = await makeExtensionFiles();
    rig = await startCaptureRig({ agentEnv: { CUSTODIAN_AGENT_RUN_DIR: files.runDir } });
    const r = rig;
    site = await servePages(PAGES);
    browser = await launchWithExtension(files, r.x.env);

    // The device's capabilities say the extension is connected (in chromium).
    await waitFor(
      async () => {
        const st = await r.agent.status();
        const caps = (st['capabilities'] ?? []) as { name: string; available: boolean; reason: string }[];
        return caps.find((c) => c.name === 'browser_extension' && c.available && /chromium/.test(c.reason));
      },
      'browser_extension capability available',
      30_000,
      200,
    );

    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(`${site.url}/lookalike`);
    await page.goto(`${site.url}/article`);
    const pageAlert = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'page'),
      'alert from page text',
      60_000,
      200,
    );
    expect(pageAlert).toMatchObject({
      term: 'how to tie a noose',
      category: 'suicide',
      windowTitle: 'Year 9 reading list',
      windowUrl: `${site.url}/article`,
      context: 'Blog Last night I looked up how to tie a noose and nobody noticed.',
    });
    expect(pageAlert.screenshotCount).toBeGreaterThan(0);

    // A message arriving at the end of a long chat: the extension samples the new part.
    await page.goto(`${site.url}/chat`);
    // Messages keep arriving (one per poll), so it does not matter when the content script started.
    const chatAlert = await waitFor(
      async () => {
        await page
          .locator('#log')
          .evaluate((el) =>
            el.insertAdjacentHTML(
              'beforeend',
              '<p>Alex: honestly you should just neck urself, nobody likes you</p>',
            ),
          );
        return (await r.alerts()).find((a) => a.term === 'neck urself');
      },
      'alert from the end of a long page',
      60_000,
      1_000,
    );
    expect(chatAlert).toMatchObject({
      source: 'page',
      windowTitle: 'Class chat',
      windowUrl: `${site.url}/chat`,
    });

    // A search results address: the query, extracted by the agent, is the context.
    await page.goto(`${site.url}/search?q=you+should+die`);
    const urlAlert = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'url'),
      'alert from the address',
      60_000,
      200,
    );
    expect(urlAlert).toMatchObject({
      term: 'you should die',
      windowUrl: `${site.url}/search?q=you+should+die`,
      context: 'search: you should die',
    });

    await page.goto(`${site.url}/search`);
    await page.locator('#q').pressSequentially('how to drink bleach', { delay: 20 });
    const typedAlert = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'typed' && a.term === 'drink bleach'),
      'alert from typed text',
      60_000,
      200,
    );
    expect(typedAlert).toMatchObject({
      windowTitle: 'Search the library',
      windowUrl: `${site.url}/search`,
      context: 'how to drink bleach',
    });

    // Secret fields first, then a should-flag note on the same page as the marker: the extension
    // and capture keep order, so once the note's alert is there, anything from the secret fields
    // would be too.
    await page.goto(`${site.url}/login`);
    await page.locator('#pw').pressSequentially('kill yourself', { delay: 20 });
    await page.locator('#card').pressSequentially('kill urself', { delay: 20 });
    await page.locator('#otp').pressSequentially('unalive yourself', { delay: 20 });
    // "Show password": the page turns the field into a text field; it stays private.
    await page.locator('#pw2').pressSequentially('hope u', { delay: 20 });
    await page.locator('#pw2').evaluate((el) => el.setAttribute('type', 'text'));
    await page.locator('#pw2').pressSequentially(' die', { delay: 20 });
    await page.locator('#note').pressSequentially('neck yourself', { delay: 20 });
    await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'typed' && a.term === 'neck yourself'),
      'alert for the note typed after the secret fields',
      60_000,
      200,
    );
    const all = await r.alerts();
    expect(all.map((a) => `${a.source}:${a.term}`).sort()).toEqual(
      [
        'page:how to tie a noose',
        'page:neck urself',
        'url:you should die',
        'typed:drink bleach',
        'typed:neck yourself',
      ].sort(),
    );

    // The host's log is real (it logged the connection) and never saw the secret fields' text.
    const hostLog = await readLog(files.hostLog);
    expect(hostLog).toContain('extension connected to the agent');
    for (const secret of SECRETS) {
      expect(hostLog).not.toContain(secret);
      expect(r.agent.logs()).not.toContain(secret);
    }

    // The collector's store, read straight from its data dir: no secret field's text anywhere.
    await browser.close();
    browser = undefined;
    await r.agent.stop();
    await r.collector.stop();
    // Events are stored as their protobuf bytes: strings inside them are plain UTF-8.
    const stored = (
      await storedTimeline(
        { dataDir: r.collector.dataDir, keyFile: r.collector.keyFile },
        r.enrolled.deviceId,
      )
    )
      .map(
        (rec) => `${JSON.stringify({ ...rec, event: undefined })}${Buffer.from(rec.event).toString('utf8')}`,
      )
      .join('\n');
    expect(stored).toContain('neck yourself');
    for (const secret of SECRETS) expect(stored).not.toContain(secret);
    expect(await readFile(files.hostLog, 'utf8')).not.toContain('kill');
  });
});
