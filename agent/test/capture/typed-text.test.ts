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
import type { KeyEvent } from '../../src/platform/keyboard-frames.ts';
import { createCaptureContext } from './harness.ts';
import { capturedKeymap } from './key-layouts.ts';

const map = capturedKeymap('us');
const CODES: Record<string, number> = { h: 35, i: 23, ' ': 57, o: 24 };

class ScriptedKeyboard implements KeyboardSource {
  onKey: ((e: KeyEvent) => void) | undefined;
  running = false;
  async probe(): Promise<CapabilityStatus> {
    return { name: 'typed_text', available: true, reason: '' };
  }
  async layout(): Promise<KeyboardLayout> {
    return { name: 'us', id: 'layout: us', map, capsLock: false, numLock: false };
  }
  async layoutId(): Promise<string> {
    return 'layout: us';
  }
  async start(onKey: (e: KeyEvent) => void): Promise<void> {
    this.onKey = onKey;
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
