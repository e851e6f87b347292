// Pure parts of capture: context snippet, repeat suppression, window matching, xrandr parsing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMatcher } from '@custodian/keywords';
import { describe, expect, it } from 'vitest';
import { contextSnippet, MAX_CONTEXT } from '../../src/capture/context-snippet.ts';
import { RepeatSuppressor, repeatKey } from '../../src/capture/repeat-suppressor.ts';
import { matchWindow } from '../../src/capture/window-match.ts';
import { parseXrandrOutputs, screenshotEnvironmentProblem } from '../../src/platform/screenshot.xrandr.ts';
import { childError, isPng } from '../../src/platform/screenshot-process.ts';

const testdata = (f: string) => readFileSync(join(import.meta.dirname, 'testdata', f), 'utf8');

describe('contextSnippet', () => {
  it('returns short text whole', () => {
    expect(contextSnippet('kill myself - Google Search', 0, 11)).toBe('kill myself - Google Search');
  });

  it('centres long text on the match within the limit', () => {
    const text = `${'a'.repeat(200)} kill myself ${'b'.repeat(200)}`;
    const s = contextSnippet(text, 201, 212);
    // 98 characters around the 11 of the match (44 before it, 43 after), a "…" on each side.
    expect(s).toBe(`…${'a'.repeat(43)} kill myself ${'b'.repeat(42)}…`);
    expect(s).toHaveLength(MAX_CONTEXT);
  });

  it('cuts at the text edges without a mark there, and cuts an over-long match', () => {
    const text = `kill myself ${'x'.repeat(300)}`;
    const s = contextSnippet(text, 0, 11);
    expect(s).toBe(`kill myself ${'x'.repeat(86)}…`);
    const long = 'y'.repeat(300);
    expect(contextSnippet(long, 10, 290)).toBe(`…${'y'.repeat(98)}…`);
    expect(() => contextSnippet('abc', 2, 9)).toThrow(RangeError);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'😀'.repeat(80)}kms${'😀'.repeat(80)}`;
    const s = contextSnippet(text, 160, 163);
    expect(s).toContain('kms');
    expect(() => encodeURIComponent(s)).not.toThrow(); // a lone surrogate would throw
  });
});

describe('RepeatSuppressor', () => {
  it('captures once per key and window, counting the repeats for the next capture', () => {
    const r = new RepeatSuppressor();
    expect(r.decide('a', 0, 600_000)).toEqual({ capture: true, suppressedSince: 0 });
    expect(r.decide('a', 1_000, 600_000)).toEqual({ capture: false, suppressedSince: 1 });
    expect(r.decide('a', 2_000, 600_000)).toEqual({ capture: false, suppressedSince: 2 });
    expect(r.decide('b', 2_000, 600_000).capture).toBe(true);
    expect(r.pending('a')).toBe(2);
    expect(r.decide('a', 600_000, 600_000)).toEqual({ capture: true, suppressedSince: 2 });
    expect(r.pending('a')).toBe(0);
  });

  it('with a zero window captures every time', () => {
    const r = new RepeatSuppressor();
    expect(r.decide('a', 0, 0).capture).toBe(true);
    expect(r.decide('a', 0, 0).capture).toBe(true);
  });

  it('stays bounded under a flood of distinct keys', () => {
    const r = new RepeatSuppressor();
    for (let i = 0; i < 10_000; i++) r.decide(`k${i}`, i, 600_000);
    expect(r.size).toBe(2_000); // the cap, holding the newest keys
    expect(r.decide('k9999', 10_000, 600_000).capture).toBe(false); // newest: still suppressed
    expect(r.decide('k0', 10_000, 600_000).capture).toBe(true); // oldest: dropped, so captured again
  });

  it('keys on term and the whole window', () => {
    const w = { app: 'xterm', title: 't', url: '' };
    expect(repeatKey('kms', 'suicide', w)).toBe(repeatKey('kms', 'suicide', { ...w }));
    expect(repeatKey('kms', 'suicide', w)).not.toBe(repeatKey('kms', 'suicide', { ...w, title: 't2' }));
  });
});

describe('matchWindow', () => {
  const matcher = createMatcher({ ageBand: 'secondary' });
  const win = (title: string, url = '') => ({ app: 'Chromium', title, url, pid: 42 });

  it('flags the highest severity of title and URL, with the source and a context line', () => {
    const f = matchWindow(
      matcher,
      win('weed - Google Search', 'https://www.google.com/search?q=how+to+kill+myself&hl=en'),
      3,
    );
    expect(f?.match).toMatchObject({ term: 'how to kill myself', category: 'suicide', severity: 5 });
    expect(f?.source).toBe('url');
    expect(f?.context).toBe('search: how to kill myself');
  });

  it('ignores matches below the minimum severity and look-alikes', () => {
    expect(matchWindow(matcher, win('weed killer - B&Q'), 1)).toBeUndefined();
    expect(matchWindow(matcher, win('cannabis'), 3)).toBeUndefined(); // severity 2
    expect(matchWindow(matcher, win('cannabis'), 2)?.match.term).toBe('cannabis');
    expect(matchWindow(matcher, win('Scunthorpe - Essex cocktail therapist'), 1)).toBeUndefined();
  });

  it('lets an educational URL lower a title match', () => {
    const plain = matchWindow(matcher, win('knife crime'), 1);
    const edu = matchWindow(matcher, win('knife crime', 'https://www.bbc.co.uk/bitesize/guides/zxyz'), 1);
    expect(plain?.match.educational).toBe(false);
    expect(edu?.match.educational).toBe(true);
    expect(edu!.match.severity).toBeLessThanOrEqual(plain!.match.severity);
    expect(edu?.source).toBe('title');
  });
});

describe('screenshot helpers', () => {
  it('parses connected outputs from captured xrandr output', () => {
    expect(parseXrandrOutputs(testdata('xrandr-xvfb-1024x768.txt'))).toEqual([
      { name: 'screen', width: 1024, height: 768, primary: false },
    ]);
    expect(parseXrandrOutputs(testdata('xrandr-hand-written-none-connected.txt'))).toEqual([]);
  });

  it('names the session problem before running anything', () => {
    expect(screenshotEnvironmentProblem({})).toBe('no X display');
    expect(screenshotEnvironmentProblem({ WAYLAND_DISPLAY: 'wayland-0', DISPLAY: ':0' })).toMatch(/Wayland/);
    expect(screenshotEnvironmentProblem({ DISPLAY: ':0' })).toBeUndefined();
  });

  it('recognises PNGs and the child error line', () => {
    expect(isPng(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe(true);
    expect(isPng(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0]))).toBe(false);
    expect(childError('(node:1) Warning: x\n{"error":"Command failed: xrandr --current"}\n')).toBe(
      'Command failed: xrandr --current',
    );
    expect(childError('garbage')).toBeUndefined();
  });
});
