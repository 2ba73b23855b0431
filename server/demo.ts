/**
 * Demo data (`slsd --demo`, `slsctl demo`): a user for every device kind, an M2FS user, and a user
 * opted out of the second factor for trading-platform login (SPEC O1, O2; the Account screens ask
 * for the device first, C6).
 *
 * Seeds only an empty database. Writes what a person needs to act as each device: DSC+ state
 * files for the emulator in `<data>/dscplus/`, the code card PDF and software token files in
 * `<data>/demo/`, and `<data>/demo/README.txt` (plus `demo.json` for scripts and tests) listing
 * users, devices, PINs and files.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DeviceKind } from '../core/devices.ts';
import { DEVICE_CATALOGUE } from '../core/devices.ts';
import { renderSecurityCodeCardPdf } from './cards/scc-pdf.ts';
import type { Services } from './services/index.ts';
import { accountDb } from './account/schema.ts';
import { Provisioning } from './services/provisioning.ts';
import type { ProvisionedDevice } from './services/provisioning.ts';
import { softwareTokenOf, writeSecretFile, writeSoftwareToken } from './tokens/software-token.ts';

export const DEMO_PASSWORD = 'Demo-Password-1';

export interface DemoDevice {
  readonly kind: DeviceKind;
  readonly deviceId: string;
  readonly label: string;
  readonly serial: string | null;
  /** DSC+ state file, code card PDF or software token file, relative to the data folder. */
  readonly file: string | null;
  readonly pin?: string;
  readonly passcode?: string;
  readonly mobileNumber?: string;
}

export interface DemoUser {
  readonly username: string;
  readonly displayName: string;
  readonly account: string;
  readonly devices: readonly DemoDevice[];
  /** SPEC O1: signs in to the trading platform without a second factor. */
  readonly optedOut?: true;
}

export interface DemoData {
  readonly password: string;
  readonly users: readonly DemoUser[];
}

const PLAN: readonly {
  username: string;
  displayName: string;
  balanceUsd: number;
  kinds: DeviceKind[];
  mobile?: string;
  optedOut?: true;
  /** SPEC S1a: joins this earlier demo user's entity (same identification), so the two may share a device. */
  entityOf?: string;
}[] = [
  { username: 'demo.dscplus', displayName: 'Dana Plus', balanceUsd: 750_000, kinds: ['dscplus'] },
  { username: 'demo.ibkey', displayName: 'Ian Key', balanceUsd: 120_000, kinds: ['ibkey'], mobile: '+15550100002' },
  { username: 'demo.platinum', displayName: 'Pat Platinum', balanceUsd: 2_000_000, kinds: ['platinum'] },
  { username: 'demo.gold', displayName: 'Goldie Hawn-Smith', balanceUsd: 900_000, kinds: ['gold'] },
  { username: 'demo.dsc', displayName: 'Dirk Card', balanceUsd: 300_000, kinds: ['dsc'] },
  { username: 'demo.scc', displayName: 'Sally Codes', balanceUsd: 50_000, kinds: ['scc'] },
  { username: 'demo.sms', displayName: 'Sam Messenger', balanceUsd: 25_000, kinds: ['sms'], mobile: '+15550100007' },
  { username: 'demo.temp', displayName: 'Terry Temporary', balanceUsd: 10_000, kinds: [] },
  { username: 'demo.m2fs', displayName: 'Morgan Many', balanceUsd: 1_200_000, kinds: ['dscplus', 'scc', 'ibkey'], mobile: '+15550100009' },
  { username: 'demo.optout', displayName: 'Olive Outside', balanceUsd: 80_000, kinds: ['gold'], optedOut: true },
  // SPEC S1–S5: a household member of Goldie's with a code card only, to try Share a device with
  // demo.gold's Gold device (the most secure of the two users', S1c) and to end the sharing.
  { username: 'demo.family', displayName: 'Frankie Hawn-Smith', balanceUsd: 40_000, kinds: ['scc'], entityOf: 'demo.gold' },
];

export const DEMO_DIR = 'demo';

/** Seeds the demo when the database has no user yet; returns null when it already had users. */
export async function seedDemo(services: Services): Promise<DemoData | null> {
  const anyUser = await services.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (anyUser) return null;
  const p = new Provisioning(services);
  const dataDir = services.config.dataDir;
  const users: DemoUser[] = [];
  let n = 0;
  const entities = new Map<string, string>();
  for (const plan of PLAN) {
    n++;
    const entityId =
      (plan.entityOf ? entities.get(plan.entityOf) : undefined) ??
      (await p.createEntity({ name: plan.displayName, dateOfBirth: `1980-01-${String(n).padStart(2, '0')}`, citizenship: 'US', residenceCountry: 'US' }));
    entities.set(plan.username, entityId);
    const account = `U${String(1_000_000 + n)}`;
    await p.createAccount({ number: account, entityId, balanceUsd: plan.balanceUsd });
    await p.createUser({
      username: plan.username,
      displayName: plan.displayName,
      entityId,
      password: DEMO_PASSWORD,
      accountNumbers: [account],
      ...(plan.mobile ? { mobileNumber: plan.mobile } : {}),
    });
    const devices: DemoDevice[] = [];
    for (const kind of plan.kinds) {
      const d = await p.addDevice({ username: plan.username, kind });
      devices.push(await writeDeviceFiles(dataDir, plan.username, d, plan.kinds.length > 1, plan.mobile));
    }
    if (plan.username === 'demo.temp') {
      const t = await p.issueTemporaryPasscode(plan.username, 'demo');
      devices.push({ kind: 'temp_passcode', deviceId: t.deviceId, label: 'Temporary passcode', serial: null, file: null, passcode: t.passcode });
    }
    if (plan.optedOut) {
      // SPEC O1: opted out as client services would (slsctl sls opt-out), audited.
      const userId = (await services.db.selectFrom('users').select('id').where('username_normalized', '=', plan.username).executeTakeFirstOrThrow()).id;
      await accountDb(services.db).insertInto('sls_opt_outs').values({ user_id: userId, opted_out_at: services.now(), opted_out_by: 'slsctl:demo' }).execute();
      await services.audit({ event: 'sls.opted_out', userId, username: plan.username, details: { by: 'slsctl:demo' } });
    }
    users.push({ username: plan.username, displayName: plan.displayName, account, devices, ...(plan.optedOut ? { optedOut: true as const } : {}) });
  }
  const demo: DemoData = { password: DEMO_PASSWORD, users };
  writeSecretFile(path.join(dataDir, DEMO_DIR, 'demo.json'), JSON.stringify(demo, null, 2) + '\n');
  writeSecretFile(path.join(dataDir, DEMO_DIR, 'README.txt'), renderDemoReadme(demo, dataDir));
  return demo;
}

async function writeDeviceFiles(dataDir: string, username: string, d: ProvisionedDevice, several: boolean, mobile?: string): Promise<DemoDevice> {
  // demo/<user>.token.json for one device; demo/<user>.<kind>.token.json for the M2FS user.
  const stem = several ? `${username}.${d.device.kind}` : username;
  const base = { kind: d.device.kind, deviceId: d.device.id, label: d.device.label, serial: d.device.serial };
  if (d.dscPlusState) {
    const file = path.join('dscplus', `${d.device.serial}.json`);
    writeSecretFile(path.join(dataDir, file), JSON.stringify(d.dscPlusState, null, 2) + '\n');
    return { ...base, file, ...(d.pin ? { pin: d.pin } : {}) };
  }
  if (d.card) {
    const file = path.join(DEMO_DIR, `${stem}.pdf`);
    const pdf = await renderSecurityCodeCardPdf({ cells: d.card.cells }, { serial: d.device.serial ?? d.device.id, username, issuedAt: new Date(d.device.created_at) });
    writeSecretFile(path.join(dataDir, file), pdf);
    // The codes as text too, for scripts and people without a PDF viewer.
    writeSecretFile(path.join(dataDir, DEMO_DIR, `${stem}.card.json`), JSON.stringify({ serial: d.device.serial, cells: d.card.cells }) + '\n');
    return { ...base, file };
  }
  if (d.secret) {
    const file = path.join(DEMO_DIR, `${stem}.token.json`);
    writeSoftwareToken(path.join(dataDir, file), softwareTokenOf(d.device, username, d.secret));
    return { ...base, file };
  }
  return { ...base, file: null, ...(mobile ? { mobileNumber: mobile } : {}) };
}

export function renderDemoReadme(demo: DemoData, dataDir: string): string {
  const lines = [
    'SLS demo data',
    '=============',
    '',
    `Every demo user has the password: ${demo.password}`,
    `Files are relative to the data folder: ${path.resolve(dataDir)}`,
    '',
  ];
  for (const u of demo.users) {
    lines.push(`${u.username}  (${u.displayName}, account ${u.account})`);
    if (u.optedOut) lines.push('    opted out of the second factor for trading-platform login (SPEC O1): Account security asks for the device first');
    const household = PLAN.find((x) => x.username === u.username)?.entityOf;
    if (household) lines.push(`    same entity as ${household}: Account security > Share a device with ${household}'s user name and password (SPEC S3)`);
    if (u.devices.length === 0) lines.push('    no device');
    for (const d of u.devices) {
      const parts = [`    - ${DEVICE_CATALOGUE[d.kind].name}: ${d.label}`];
      if (d.pin) parts.push(`PIN ${d.pin}`);
      if (d.passcode) parts.push(`passcode ${d.passcode}`);
      if (d.mobileNumber) parts.push(`SMS to ${d.mobileNumber}: read the code with \`npx slsctl sms\``);
      if (d.file) parts.push(`file ${d.file}`);
      lines.push(parts.join('; '));
    }
    lines.push('');
  }
  lines.push(
    'Acting as a device:',
    '  DSC+:            run the emulator on its state file (dscplus/<serial>.json) and type the PIN on its keypad,',
    '                   or: npx slsctl token respond --token-file <state file> --pin <PIN> CHALLENGE',
    '                   Unplugged (type the response): on its keypad the PIN, Enter, the challenge, Enter: it shows the response',
    '  Legacy / IB Key: npx slsctl token respond --token-file demo/<user>.token.json CHALLENGE',
    '                   (demo.m2fs: demo/demo.m2fs.<kind>.token.json)',
    '  Code card:       the PDF, or demo/<user>.card.json (index i is cells[i-1])',
    '  SMS:             npx slsctl sms',
    '',
  );
  return lines.join('\n');
}

/** The README of an already-seeded demo, if any. */
export function readDemoReadme(dataDir: string): string | null {
  const file = path.join(dataDir, DEMO_DIR, 'README.txt');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
}
