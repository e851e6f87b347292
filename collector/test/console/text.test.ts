// Pure text handling of the console (neutralise, truncate) and the route module's static files.
import { describe, expect, it } from 'vitest';
import { CONSOLE_CSP, consoleRoutes } from '../../src/console/routes.ts';
// @ts-expect-error -- plain browser module with JSDoc types, not part of the TS program
import { neutralise, truncate } from '../../src/console/static/js/h.js';

describe('neutralise', () => {
  it('shows bidi overrides and isolates as visible markers', () => {
    expect(neutralise('invoice\u202Egpj.exe')).toBe('invoice⟦U+202E⟧gpj.exe');
    expect(neutralise('a\u2066b\u2069c\u200Fd')).toBe('a⟦U+2066⟧b⟦U+2069⟧c⟦U+200F⟧d');
  });

  it('turns control characters into U+FFFD and line breaks into spaces', () => {
    expect(neutralise('a\u0000b\u001bc\u0085')).toBe('a\uFFFDb\uFFFDc\uFFFD');
    expect(neutralise('line1\nline2\ttab\r')).toBe('line1 line2 tab ');
  });

  it('leaves markup characters alone: they are rendered as text, not escaped twice', () => {
    expect(neutralise('<script>alert(1)</script>')).toBe('<script>alert(1)</script>');
  });

  it('reads null and undefined as empty', () => {
    expect(neutralise(null)).toBe('');
    expect(neutralise(undefined)).toBe('');
  });
});

describe('truncate', () => {
  it('cuts by code points, never inside a surrogate pair', () => {
    const s = '😀'.repeat(10);
    const { text, cut } = truncate(s, 3);
    expect(cut).toBe(true);
    expect(text).toBe('😀😀😀…');
  });

  it('leaves short text as it is', () => {
    expect(truncate('short', 10)).toEqual({ text: 'short', cut: false });
  });

  it('cuts a 10 kB string to the limit', () => {
    const { text, cut } = truncate('x'.repeat(10_240), 80);
    expect(cut).toBe(true);
    expect(Array.from(text).length).toBe(81);
  });
});

describe('consoleRoutes', () => {
  it('lists every static file explicitly, all public GETs, with the shell at / and /enrol', () => {
    const routes = consoleRoutes();
    const paths = routes.map((r) => r.path);
    expect(paths).toContain('/');
    expect(paths).toContain('/enrol');
    expect(paths).toContain('/console/js/app.js');
    expect(paths).toContain('/console/app.css');
    expect(paths.every((p) => !p.includes(':'))).toBe(true);
    expect(routes.every((r) => r.method === 'GET' && r.access === 'public' && r.raw === true)).toBe(true);
  });

  it('has a CSP without inline script or eval', () => {
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-(inline|eval)/);
    expect(CONSOLE_CSP).toContain("object-src 'none'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
  });
});
