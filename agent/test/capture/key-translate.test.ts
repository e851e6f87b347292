// Typed text on the layouts UK schools meet (issue 14): keys typed on keymaps captured from a real
// X server (`setxkbmap <layout>; xkbcomp -xkb`, agent/testdata/keyboard/) come out as the
// characters the pupil saw — gb's £ and @, AZERTY, AltGr, Caps Lock, dead keys, Compose, and the
// group toggle of a two-layout keymap.
import { describe, expect, it } from 'vitest';
import { composeNext } from '../../src/capture/dead-keys.ts';
import { INITIAL_KEYS, translateKey, withServerLocks } from '../../src/capture/key-translate.ts';
import { EMPTY_TYPED } from '../../src/capture/typed-buffer.ts';
import { capturedKeymap, plain, typeOn } from './key-layouts.ts';

const us = capturedKeymap('us');
const gb = capturedKeymap('gb');

describe('us and gb', () => {
  it('us: Shift, Caps Lock on letters only, Right Alt is Alt (a shortcut), not AltGr', () => {
    expect(typeOn(us, ['S+h', 'i', 'space', 'S+2', 'S+3', "S+'", '#']).text).toBe('Hi @#"\\');
    expect(typeOn(us, ['caps', 'a', '1', 'S+a', 'caps', 'a']).text).toBe('A1aa');
    expect(typeOn(us, [...plain('ab'), 'G+c']).lines).toEqual(['ab']); // Alt+c: a shortcut ends the line
  });

  it('gb: £ on Shift+3, " and @ swapped against us, the # key, ¬ and AltGr €', () => {
    expect(
      typeOn(gb, ['S+3', '2', '0', 'space', 'S+2', 'h', 'i', 'S+2', 'space', "S+'", 'space', '#', 'S+#'])
        .text,
    ).toBe('£20 "hi" @ #~');
    expect(typeOn(gb, ['S+`', 'G+4', 'G+`']).text).toBe('¬€|');
    // Right Alt is AltGr (ISO_Level3_Shift) on gb: AltGr+e types gb's level 3 (e), it is no shortcut
    const r = typeOn(gb, [...plain('ab'), 'G+e', 'c']);
    expect(r.lines).toEqual([]);
    expect(r.text).toBe('abec');
  });

  it('gb(extd), Welsh-medium schools: AltGr dead keys give ŵ ŷ â, AltGr letters give á', () => {
    const extd = capturedKeymap('gb-extd');
    expect(typeOn(extd, ['G+6', 'w', 'G+6', 'y', 'G+6', 'a', 'space', 'G+a', "G+'", 'e']).text).toBe(
      'ŵŷâ áé',
    );
    expect(typeOn(extd, ['G+6', 'S+w']).text).toBe('Ŵ');
    expect(typeOn(extd, ['caps', 'G+6', 'w']).text).toBe('Ŵ');
  });
});

describe('European layouts', () => {
  it('fr (AZERTY): letters moved, é è à ç on the digit row, Caps Lock gives É, dead ^ and ¨', () => {
    const fr = capturedKeymap('fr');
    expect(typeOn(fr, ['q', 'z', 'w', 'a', 'space', '2', '7', '0', '9', 'space', 'S+2']).text).toBe(
      'awzq éèàç 2',
    );
    expect(typeOn(fr, ['caps', '2', 'q']).text).toBe('ÉA');
    expect(typeOn(fr, ['[', 'e', 'S+[', 'i', 'G+0']).text).toBe('êï@');
  });

  it('de: QWERTZ, dead acute and grave on the key right of ß, AltGr @ and €, Caps Lock ẞ', () => {
    const de = capturedKeymap('de');
    expect(typeOn(de, ['y', 'z', '=', 'e', 'S+=', 'a', 'G+q', 'G+e', '-']).text).toBe('zyéà@€ß');
    expect(typeOn(de, ['caps', '-']).text).toBe('ẞ');
    expect(typeOn(de, [';', "'", '[']).text).toBe('öäü');
  });

  it('es: ñ, dead acute + vowel (muérete), dead key + space types the accent', () => {
    const es = capturedKeymap('es');
    expect(typeOn(es, ['m', 'u', "'", 'e', 'r', 'e', 't', 'e']).text).toBe('muérete');
    expect(typeOn(es, [';', "'", 'space', "S+'", 'u']).text).toBe("ñ'ü");
  });

  it('pl (programmer): AltGr ą ł ż ź ś ć ę ó ń', () => {
    const pl = capturedKeymap('pl');
    expect(typeOn(pl, ['G+a', 'G+l', 'G+z', 'G+x', 'G+s', 'G+c', 'G+e', 'G+o', 'G+n']).text).toBe(
      'ąłżźśćęóń',
    );
    expect(typeOn(pl, ['G+S+l']).text).toBe('Ł');
  });

  it('pt: ç, dead acute á, dead tilde ã, ie: AltGr é', () => {
    const pt = capturedKeymap('pt');
    expect(typeOn(pt, [';', ']', 'a', '#', 'a', '#', 'o']).text).toBe('çáãõ');
    const ie = capturedKeymap('ie');
    expect(typeOn(ie, ['G+e', 'G+a', "S+'"]).text).toBe('éá@');
  });
});

describe('two layouts in one keymap (gb,fr with Alt+Shift)', () => {
  const gbfr = capturedKeymap('gb-fr');

  it('takes the locked group and Caps Lock the X server reports', () => {
    const s = withServerLocks(INITIAL_KEYS, { group: 1, mods: 2 }, gbfr);
    expect(s).toMatchObject({ group: 1, capsLock: true, numLock: false });
    expect(typeOn(gbfr, ['2', 'q'], { ...EMPTY_TYPED, keys: s }).text).toBe('ÉA');
    expect(withServerLocks(INITIAL_KEYS, { group: 3, mods: 16 }, gbfr)).toMatchObject({
      group: 1,
      numLock: true,
    });
    // From then on the toggle and lock keys are the server's to report (its report may come first).
    const after = typeOn(gbfr, ['A+lshift', 'caps', '2'], { ...EMPTY_TYPED, keys: s });
    expect(after.state.keys).toMatchObject({ group: 1, capsLock: true });
    expect(after.text).toBe('É');
  });

  it('reads both groups and follows the toggle both ways', () => {
    expect(gbfr.groups).toBe(2);
    const r = typeOn(gbfr, ['2', 'q', 'A+lshift', '2', 'q', 'S+3', 'A+lshift', '2', 'S+3']);
    expect(r.text).toBe('2qéa32£');
  });
});

describe('dead keys and Compose', () => {
  it('Backspace after a dead key cancels it and deletes nothing', () => {
    const es = capturedKeymap('es');
    expect(typeOn(es, ['h', "'", 'bksp', 'e']).text).toBe('he');
    expect(typeOn(es, ['h', 'e', 'bksp', 'o']).text).toBe('ho');
  });

  it('an accent that does not combine is dropped, the letter kept; the same dead key twice types it', () => {
    const es = capturedKeymap('es');
    expect(typeOn(es, ["'", 'q']).text).toBe('q');
    const de = capturedKeymap('de');
    expect(typeOn(de, ['=', '=']).text).toBe('´');
  });

  it('Compose sequences: accents either order, £ € ß, unknown ones type nothing', () => {
    const c = (a: string, b: string) =>
      composeNext(composeNext(['Multi_key'], { char: a }).pending, { char: b });
    expect(c("'", 'e').text).toBe('é');
    expect(c('e', "'").text).toBe('é');
    expect(c('^', 'w').text).toBe('ŵ');
    expect(c('L', '-').text).toBe('£');
    expect(c('=', 'e').text).toBe('€');
    expect(c('s', 's').text).toBe('ß');
    expect(c('/', 'l').text).toBe('ł');
    expect(c('q', 'q').text).toBe('');
    expect(composeNext(['dead_stroke'], { char: 'l' }).text).toBe('ł');
    expect(composeNext(['dead_acute', 'dead_diaeresis'], { char: 'u' }).text).toBe('ǘ');
  });

  it('holds state in the translation only: group, locks, held modifiers', () => {
    const down = { down: true, shift: false, alt: false, ctrl: false, meta: false };
    const s = translateKey(gb, INITIAL_KEYS, { ...down, keycode: 0x3a }).state; // Caps Lock
    expect(s).toEqual({ ...INITIAL_KEYS, capsLock: true });
    const held = translateKey(gb, s, { ...down, keycode: 0x0e38 }).state;
    expect(held.held).toEqual([[108, 'ISO_Level3_Shift']]);
    expect(translateKey(gb, held, { ...down, down: false, keycode: 0x0e38 }).state.held).toEqual([]);
  });
});
