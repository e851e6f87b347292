import { createMatcher } from '@custodian/keywords';
import { describe, expect, it } from 'vitest';
import { matchTextUnit } from '../../src/capture/text-match.ts';
import type { TextUnit } from '../../src/capture/text-source.ts';

const matcher = createMatcher({ ageBand: 'secondary' });
const unit = (origin: TextUnit['origin'], text: string): TextUnit => ({
  origin,
  text,
  window: { title: 'Tab', url: 'https://a.test/', app: 'chromium' },
  time: 0,
});

describe('text unit matching', () => {
  it('page and typed text: the match, its source and ~100 characters around it', () => {
    const long = `${'filler words '.repeat(20)}how to tie a noose${' more text'.repeat(20)}`;
    const f = matchTextUnit(matcher, unit('page', long), 3);
    expect(f?.match.term).toBe('how to tie a noose');
    expect(f?.source).toBe('page');
    expect(f?.context.length).toBeLessThanOrEqual(100);
    expect(f?.context).toContain('how to tie a noose');
    expect(matchTextUnit(matcher, unit('typed', 'drink bleach'), 3)).toMatchObject({
      source: 'typed',
      context: 'drink bleach',
    });
  });

  it('a URL: the search query is the context', () => {
    const f = matchTextUnit(matcher, unit('url', 'https://www.google.com/search?q=how+to+tie+a+noose'), 3);
    expect(f).toMatchObject({ source: 'url', context: 'search: how to tie a noose' });
  });

  it('look-alikes and text below the minimum severity give nothing', () => {
    expect(
      matchTextUnit(matcher, unit('page', 'Scunthorpe vs Essex - cocktail therapist analysis'), 1),
    ).toBeUndefined();
    expect(matchTextUnit(matcher, unit('page', 'how to tie a noose'), 6)).toBeUndefined();
  });
});
