// The typed-text shell with a scripted keyboard source (a fake only for the platform side; the
// line logic is typed-buffer.ts, tested in typed-pure.test.ts): lines reach the hub with their
// window; credential windows and browsers whose extension is connected give nothing; the policy
// switch stops the source and says so.
import { afterEach, describe, expect, it } from 'vitest';
import { type TextUnit, TextUnitHub } from '../../src/capture/text-source.ts';
import { VC } from '../../src/capture/typed-buffer.ts';
import { TypedTextComponent } from '../../src/capture/typed-text.ts';
import type { CapabilityStatus } from '../../src/core/contracts.ts';
import type { KeyboardLayout, KeyboardSource } from '../../src/platform/keyboard.ts';
import type { KeyEvent, LockFrame } from '../../src/platform/keyboard-frames.ts';
import type { Keymap } from '../../src/platform/keymap.xkb.ts';
import { createCaptureContext } from './harness.ts';
import { capturedKeymap } from './key-layouts.ts';

const map = capturedKeymap('us');
const CODES: Record<string, number> = { h: 35, i: 23, ' ': 57, o: 24 };

class ScriptedKeyboard implements KeyboardSource {
  onKey: ((e: KeyEvent) => void) | undefined;
  onLocks: ((l: LockFrame) => void) | undefined;
  onKeymap: (() => void) | undefined;
  running = false;
  keymap: Keymap = map;
  id = 'layout: us';
  name = 'us';
  async probe(): Promise<CapabilityStatus> {
    return { name: 'typed_text', available: true, reason: '' };
  }
  async layout(): Promise<KeyboardLayout> {
    return { name: this.name, id: this.id, map: this.keymap, capsLock: false, numLock: false };
  }
  async layoutId(): Promise<string> {
    return this.id;
  }
  async start(
    onKey: (e: KeyEvent) => void,
    _onEnd: (reason: string) => void,
    onLocks?: (l: LockFrame) => void,
    onKeymap?: () => void,
  ): Promise<void> {
    this.onKey = onKey;
    this.onLocks = onLocks;
    this.onKeymap = onKeymap;
    this.running = true;
  }
  async stop(): Promise<void> {
    this.running = false;
    this.onKey = undefined;
  }
  type(text: string): void {
    for (const c of text)
      this.onKey?.({ keycode: CODES[c]!, down: true, shift: false, alt: false, ctrl: false, meta: false });
    this.onKey?.({ keycode: VC.enter, down: true, shift: false, alt: false, ctrl: false, meta: false });
  }
}

let component: TypedTextComponent | undefined;
afterEach(async () => {
  await component?.stop();
});

async function setup(browsers: string[] = []) {
  const ctx = createCaptureContext();
  const hub = new TextUnitHub(ctx.log);
  const units: TextUnit[] = [];
  hub.onUnit((u) => units.push(u));
  const keyboard = new ScriptedKeyboard();
  component = new TypedTextComponent(ctx, hub, { keyboard, extensionBrowsers: () => browsers });
  await component.start();
  return { ctx, units, keyboard };
}

describe('typed text component', () => {
  it('publishes each ended line with the window it was typed into', async () => {
    const { ctx, units, keyboard } = await setup();
    expect(component!.capabilities()[0]).toEqual({
      name: 'typed_text',
      available: true,
      reason: 'keyboard layout us',
    });
    ctx.hub.publish({ app: 'xterm', title: 'chat', url: '', pid: 1 });
    keyboard.type('hi oh');
    expect(units).toMatchObject([
      { origin: 'typed', text: 'hi oh', window: { app: 'xterm', title: 'chat' } },
    ]);
  });

  it('keeps nothing typed into a credential prompt, a locked screen or a browser whose extension reports', async () => {
    const { ctx, units, keyboard } = await setup(['chromium']);
    ctx.hub.publish({ app: 'pinentry-gtk-2', title: 'Passphrase', url: '', pid: 2 });
    keyboard.type('hi');
    ctx.hub.publish(undefined); // locked
    keyboard.type('hi');
    ctx.hub.publish({ app: 'Chromium', title: 'chat - Chromium', url: '', pid: 3 });
    keyboard.type('hi');
    ctx.hub.publish({ app: 'firefox', title: 'chat', url: '', pid: 4 });
    keyboard.type('oh');
    expect(units.map((u) => [u.window.app, u.text])).toEqual([['firefox', 'oh']]);
  });

  it('drops the line being typed when the screen locks (it may hold the unlock password)', async () => {
    const { ctx, units, keyboard } = await setup();
    ctx.hub.publish({ app: 'xterm', title: 'chat', url: '', pid: 1 });
    for (const c of 'hi')
      keyboard.onKey!({ keycode: CODES[c]!, down: true, shift: false, alt: false, ctrl: false, meta: false });
    ctx.hub.publish(undefined);
    ctx.hub.publish({ app: 'xterm', title: 'chat', url: '', pid: 1 });
    keyboard.type('oh');
    expect(units.map((u) => u.text)).toEqual(['oh']);
  });

  it('a focus change ends the line for the window it was typed into', async () => {
    const { ctx, units, keyboard } = await setup();
    ctx.hub.publish({ app: 'xterm', title: 'one', url: '', pid: 1 });
    keyboard.onKey!({ keycode: CODES['h']!, down: true, shift: false, alt: false, ctrl: false, meta: false });
    ctx.hub.publish({ app: 'xterm', title: 'two', url: '', pid: 2 });
    expect(units.map((u) => [u.window.title, u.text])).toEqual([['one', 'h']]);
  });

  it('reads the layout again when it changed (on a focus change), and follows the server group', async () => {
    const { ctx, units, keyboard } = await setup();
    ctx.hub.publish({ app: 'xterm', title: 'one', url: '', pid: 1 });
    keyboard.keymap = capturedKeymap('gb-fr');
    keyboard.id = 'layout: gb,fr';
    keyboard.name = 'gb,fr';
    ctx.hub.publish({ app: 'xterm', title: 'two', url: '', pid: 2 }); // within 5 s of the last check: not checked
    await new Promise((r) => setTimeout(r, 10));
    expect(component!.capabilities()[0]!.reason).toBe('keyboard layout us');
    await new Promise((r) => setTimeout(r, 5_000));
    ctx.hub.publish({ app: 'xterm', title: 'three', url: '', pid: 3 });
    await new Promise((r) => setTimeout(r, 10));
    expect(component!.capabilities()[0]!.reason).toBe('keyboard layout gb,fr');
    const press = (keycode: number) =>
      keyboard.onKey!({ keycode, down: true, shift: false, alt: false, ctrl: false, meta: false });
    press(0x03); // <AE02>: 2 on gb
    keyboard.onLocks!({ group: 1, mods: 0 }); // a panel switched to fr
    press(0x03); // é on fr
    keyboard.onLocks!({ group: 0, mods: 2 }); // back to gb, Caps Lock on
    press(0x1e); // A
    press(VC.enter);
    expect(units.map((u) => u.text)).toEqual(['2éA']);
  }, 10_000);

  it('reads the layout again when the source says the keymap changed, and takes the server group', async () => {
    const { ctx, units, keyboard } = await setup();
    ctx.hub.publish({ app: 'xterm', title: 'one', url: '', pid: 1 });
    keyboard.onLocks!({ group: 1, mods: 0 }); // the source reports server state: no polling from now on
    keyboard.keymap = capturedKeymap('gb-fr');
    keyboard.id = 'layout: gb,fr';
    keyboard.name = 'gb,fr';
    keyboard.onKeymap!();
    // (read at once, or after the focus change's own check in flight)
    for (let i = 0; i < 100 && component!.capabilities()[0]!.reason !== 'keyboard layout gb,fr'; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(component!.capabilities()[0]!.reason).toBe('keyboard layout gb,fr');
    keyboard.onKey!({ keycode: 0x03, down: true, shift: false, alt: false, ctrl: false, meta: false });
    keyboard.onKey!({ keycode: VC.enter, down: true, shift: false, alt: false, ctrl: false, meta: false });
    expect(units.map((u) => u.text)).toEqual(['2']); // on us (one group) the locked 1 was clamped to 0
    keyboard.onLocks!({ group: 1, mods: 0 }); // the server says fr
    keyboard.onKey!({ keycode: 0x03, down: true, shift: false, alt: false, ctrl: false, meta: false });
    keyboard.onKey!({ keycode: VC.enter, down: true, shift: false, alt: false, ctrl: false, meta: false });
    expect(units.map((u) => u.text)).toEqual(['2', 'é']);
  });

  it('stops the source when policy turns typed text off, and starts it again', async () => {
    const { ctx, keyboard } = await setup();
    ctx.setPolicy({ capture: { typedText: false } });
    await new Promise((r) => setTimeout(r, 10));
    expect(keyboard.running).toBe(false);
    expect(component!.capabilities()[0]).toEqual({
      name: 'typed_text',
      available: false,
      reason: 'turned off by policy',
    });
    ctx.setPolicy({ capture: { typedText: true } });
    await new Promise((r) => setTimeout(r, 10));
    expect(keyboard.running).toBe(true);
  });
});
