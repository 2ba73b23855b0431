import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DSCPLUS_PRODUCT_ID, DSCPLUS_VENDOR_ID } from '../../native/hid-api.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const script = path.join(root, 'resources/linux/udev-rule.sh');
const work = mkdtempSync(path.join(tmpdir(), 'sls-udev-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run udev-rule.sh into a staging root (DPKG_ROOT) with a fake udevadm that records its calls. */
function runScript(args: string[]): string[] {
  const bin = path.join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  const calls = path.join(work, 'udevadm.calls');
  writeFileSync(path.join(bin, 'udevadm'), `#!/bin/sh\necho "$*" >> '${calls}'\n`);
  chmodSync(path.join(bin, 'udevadm'), 0o755);
  rmSync(calls, { force: true });
  execFileSync('sh', [script, ...args], { env: { PATH: `${bin}:/usr/bin:/bin`, DPKG_ROOT: path.join(work, 'root'), SLS_UDEV_FORCE_RELOAD: '1' } });
  return existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [];
}

describe('DSC+ udev rule installer (deb after-install, SPEC N3)', () => {
  const installed = path.join(work, 'root/usr/lib/udev/rules.d/70-dscplus.rules');

  it('installs the rule into /usr/lib/udev/rules.d (0644) and reloads udev', () => {
    const rule = path.join(work, 'rule.rules');
    writeFileSync(rule, 'SUBSYSTEM=="hidraw", TAG+="uaccess"\n');
    const calls = runScript(['install', rule]);
    expect(readFileSync(installed, 'utf8')).toBe(readFileSync(rule, 'utf8'));
    expect(statSync(installed).mode & 0o777).toBe(0o644);
    expect(calls[0]).toBe('control --reload-rules');
    expect(calls.some((c) => c.startsWith('trigger --subsystem-match=hidraw'))).toBe(true);
  });

  it('removes the rule and reloads udev', () => {
    const calls = runScript(['remove']);
    expect(existsSync(installed)).toBe(false);
    expect(calls[0]).toBe('control --reload-rules');
  });

  it('refuses a missing rule file and unknown commands without touching the system', () => {
    expect(() => runScript(['install', path.join(work, 'nope.rules')])).toThrow();
    expect(() => runScript(['frobnicate'])).toThrow();
    expect(existsSync(installed)).toBe(false);
  });

  it('the deb after-install template calls it from the installed app and is valid bash once expanded', () => {
    const template = readFileSync(path.join(root, 'resources/linux/after-install.tpl'), 'utf8');
    // electron-builder's expansion: ${name} macros (FpmTarget writeConfigFile).
    const values: Record<string, string> = { executable: 'sls-desktop', sanitizedProductName: 'SLS Desktop', productFilename: 'SLS Desktop' };
    const expanded = template.replace(/\${([a-zA-Z]+)}/g, (_m, name: string) => {
      if (!(name in values)) throw new Error(`undefined macro ${name}`);
      return values[name]!;
    });
    expect(expanded).toContain(`sh '/opt/SLS Desktop/resources/udev/udev-rule.sh' install`);
    const file = path.join(work, 'postinst');
    writeFileSync(file, expanded);
    execFileSync('bash', ['-n', file]);
  });

  it('the rule matches the ids the driver opens (protocols/dscplus-hid.md: 0x1209/0xD5C1), hidraw and usb, for the seat user', () => {
    const rules = readFileSync(path.join(root, 'resources/linux/70-dscplus.rules'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    const hex = (n: number) => n.toString(16).padStart(4, '0');
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule).toContain(`ATTRS{idVendor}=="${hex(DSCPLUS_VENDOR_ID)}"`);
      expect(rule).toContain(`ATTRS{idProduct}=="${hex(DSCPLUS_PRODUCT_ID)}"`);
      expect(rule).toContain('TAG+="uaccess"');
      expect(rule).not.toMatch(/MODE="0?666"/);
    }
    expect(rules.some((r) => r.includes('SUBSYSTEM=="hidraw"'))).toBe(true);
    expect(rules.some((r) => r.includes('SUBSYSTEM=="usb"'))).toBe(true);
  });
});
