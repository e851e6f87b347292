import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pickUser, type RawInventory, toInventory } from '../../src/platform/inventory.si.ts';

const raw = JSON.parse(
  readFileSync(new URL('../../testdata/inventory/linux-debian12.json', import.meta.url), 'utf8'),
) as RawInventory;

describe('inventory mapping (systeminformation output captured on Debian 12)', () => {
  it('maps OS, hardware, CPU and memory', () => {
    const inv = toInventory(raw, '1.2.3');
    expect(inv).toMatchObject({
      hostname: 'vm',
      osPlatform: 'linux',
      osDistro: 'Debian GNU/Linux',
      osRelease: '12',
      model: 'Docker Container',
      cpuBrand: 'AMD EPYC',
      cpuCores: 2,
      agentVersion: '1.2.3',
      hasBattery: false,
      batteryPercent: -1,
    });
    expect(inv.memoryTotalBytes).toBe(25_276_063_744); // mem.total in the capture
  });

  it('reports this device’s own non-loopback interfaces only', () => {
    const inv = toInventory(raw, '1');
    const names = inv.interfaces!.map((i) => i.name);
    expect(names).not.toContain('lo');
    expect(names.length).toBe(raw.nets.filter((n) => !n.internal && !n.virtual).length);
  });

  it('battery percent when there is one', () => {
    const inv = toInventory({ ...raw, battery: { hasBattery: true, percent: 41.6 } }, '1');
    expect(inv.batteryPercent).toBe(42);
  });

  it('prefers the console/graphical user', () => {
    expect(
      pickUser([
        { user: 'admin', tty: 'pts/0' },
        { user: 'pupil', tty: ':0' },
      ]),
    ).toBe('pupil');
    expect(pickUser([{ user: 'admin', tty: 'pts/0' }])).toBe('admin');
    expect(pickUser([])).toBe('');
  });
});
