/**
 * Devices named in the client's language (SPEC D1). slsd labels a device with its kind's catalogue
 * name, and a physical one with the last digits of its serial ("Platinum device (…4821)"); those
 * read "Platinum-Gerät (…4821)" in German. A name a user or an operator chose (a phone's name) is
 * theirs and stays exactly as written.
 */
import { DEVICE_CATALOGUE, DEVICE_KINDS } from '../core/devices.ts';
import type { DeviceKind } from '../core/devices.ts';
import type { ClientError } from '../core/contract/index.ts';
import { i18n } from './i18n/index.ts';

const KEYS: Readonly<Record<DeviceKind, 'ibkey' | 'dscplus' | 'platinum' | 'gold' | 'dsc' | 'scc' | 'onlineScc' | 'sms' | 'tempPasscode'>> = {
  ibkey: 'ibkey',
  dscplus: 'dscplus',
  platinum: 'platinum',
  gold: 'gold',
  dsc: 'dsc',
  scc: 'scc',
  online_scc: 'onlineScc',
  sms: 'sms',
  temp_passcode: 'tempPasscode',
};

const isKind = (kind: string): kind is DeviceKind => Object.hasOwn(KEYS, kind);

/** The kind's name in the client's language ("Gold-Gerät"); an unknown kind (a newer slsd) as given. */
export function deviceName(kind: string): string {
  return isKind(kind) ? i18n.t(`common:device.${KEYS[kind]}`) : kind;
}

/** Longest names first, so "Online Security Code Card" is not read as "Security Code Card". */
const BY_LENGTH = [...DEVICE_KINDS].sort((a, b) => DEVICE_CATALOGUE[b].name.length - DEVICE_CATALOGUE[a].name.length);

/**
 * slsd's label of a device in the client's language: the catalogue name alone or followed by a
 * parenthesis (the serial's last digits, an SMS number) is translated, the parenthesis kept; any
 * other label is returned unchanged. With `kind` only that kind's name is recognised (an IB Key
 * phone a user called "Gold device" stays so); without it (a label slsd sent alone) any kind's.
 */
export function deviceLabel(label: string, kind?: string): string {
  const kinds = kind === undefined ? BY_LENGTH : isKind(kind) ? [kind] : [];
  for (const k of kinds) {
    const name = DEVICE_CATALOGUE[k].name;
    if (label === name) return deviceName(k);
    if (label.startsWith(`${name} (`) && label.endsWith(')')) return `${deviceName(k)}${label.slice(name.length)}`;
  }
  return label;
}

/**
 * SPEC W2: the device to choose for the user after a withdrawal was refused over the chosen device's
 * limit: the one slsd named as allowing the amount, only if the drop-down offers it (the user's usable
 * devices: never one the user cannot use, nor a name from a stale list) and it is not the one refused.
 */
export function deviceToSwitchTo<D extends { readonly deviceId: string }>(error: ClientError, offered: readonly D[], refused: string): D | null {
  const id = error.code === 'SLS_ERR_WITHDRAWAL_LIMIT' ? error.withdrawalLimit?.useDeviceId : undefined;
  if (!id || id === refused) return null;
  return offered.find((d) => d.deviceId === id) ?? null;
}
