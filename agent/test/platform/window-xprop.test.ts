import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  applyWindowLine,
  parseEscapedStrings,
  parseString,
  parseWindowId,
  parseWmClass,
  parseXpropLine,
  type XWindowProps,
  x11EnvironmentProblem,
} from '../../src/platform/window.xprop.ts';

const data = (name: string) =>
  readFileSync(new URL(`../../testdata/window/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean);

function fold(lines: string[]): XWindowProps {
  let props: XWindowProps = {};
  for (const l of lines) {
    const parsed = parseXpropLine(l);
    if (parsed) props = applyWindowLine(props, parsed);
  }
  return props;
}

describe('xprop parsers (captured on Xvfb + openbox)', () => {
  it('reads the active window id, and none when there is none', () => {
    const [active] = data('xprop-root-active.txt');
    const line = parseXpropLine(active!);
    expect(line).toMatchObject({ prop: '_NET_ACTIVE_WINDOW', found: true });
    expect(parseWindowId((line as { raw: string }).raw)).toBe('0x20000c');
    expect(parseXpropLine(data('xprop-root-no-active.txt')[0]!)).toEqual({
      prop: '_NET_ACTIVE_WINDOW',
      found: false,
    });
    expect(parseWindowId('window id # 0x0')).toBeUndefined();
    expect(parseWindowId('garbage; rm -rf /')).toBeUndefined();
  });

  it('keeps a UTF-8 title whole, including embedded quotes and backslashes', () => {
    const props = fold(data('xprop-window-utf8.txt'));
    expect(props).toEqual({ pid: 17979, wmName: 'Café — “quotes” \\ back "dq" 日本', wmClass: 'XTerm' });
  });

  it('a window without _NET_WM_PID keeps its title and app', () => {
    const props = fold(data('xprop-window-no-pid.txt'));
    expect(props.pid).toBeUndefined();
    expect(props.wmName).toBe('Café — “quotes” \\ back "dq" 日本');
    expect(props.wmClass).toBe('XTerm');
  });

  it('a property that disappears (spy: "not found") is forgotten', () => {
    let props = fold(['_NET_WM_NAME(UTF8_STRING) = "new title"']);
    expect(props.netWmName).toBe('new title');
    props = applyWindowLine(props, parseXpropLine('_NET_WM_NAME:  not found.')!);
    expect(props.netWmName).toBeUndefined();
  });

  it('string and WM_CLASS helpers', () => {
    expect(parseString('"a "b" c"')).toBe('a "b" c');
    expect(parseString('no quotes')).toBe('');
    expect(parseWmClass('"firefox-esr", "Firefox-esr"')).toBe('Firefox-esr');
    expect(parseXpropLine('not an xprop line')).toBeUndefined();
  });

  it('says why X11 windows cannot be read from the environment alone', () => {
    expect(x11EnvironmentProblem({})).toBe('no X display');
    expect(x11EnvironmentProblem({ DISPLAY: ':0', WAYLAND_DISPLAY: 'wayland-0' })).toMatch(
      /^Wayland session/,
    );
    expect(x11EnvironmentProblem({ XDG_SESSION_TYPE: 'wayland' })).toMatch(/^Wayland session/);
    expect(x11EnvironmentProblem({ DISPLAY: ':0' })).toBeUndefined();
  });
});

describe('_NET_WM_NAME (C-escaped by xprop, captured on Xvfb)', () => {
  it('decodes escaped quotes, backslashes, newlines and raw UTF-8', () => {
    const props = fold(data('xprop-window-net-wm-name-utf8.txt'));
    expect(props).toMatchObject({ pid: 4242, netWmName: 'a "q" \\ é\nnl', wmName: 'qq', wmClass: 'XTerm' });
  });

  it('decodes octal-escaped UTF-8 bytes (a STRING-typed _NET_WM_NAME, as xdotool sets it)', () => {
    const props = fold(data('xprop-window-net-wm-name-string.txt'));
    expect(props.netWmName).toBe('renamed "quoted" \\ tïtle');
  });

  it('parseEscapedStrings splits a list of escaped strings', () => {
    expect(parseEscapedStrings('"a\\"b", "c\\\\d"')).toEqual(['a"b', 'c\\d']);
  });
});
