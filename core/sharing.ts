/**
 * May one user share another user's physical device? The rules of SPEC S1 and S2, pure.
 *
 * The server loads the two users, their entities' identification data (A2) and their devices, and
 * asks here; the answer is either allowed (and whether compliance must approve, S4) or the first
 * rule that fails, each with its own reason code, so every refusal says exactly why (S6).
 *
 * Decisions:
 * - Order of the checks: the device itself (S2: IB Key, SMS, temporary and non-physical devices are
 *   never shared this way), then temporary devices of either user (S1b), then identification (S1a),
 *   then the security level (S1c). A request failing several rules gets the first.
 * - "The devices of the two users" (S1c) are their physical devices that can authenticate now or
 *   could again: active, and inactive ones (set aside after an earlier sharing, S5). Lost, returned,
 *   revoked and pending devices do not count.
 * - Identification matches (S1a) when date of birth, citizenship and country of legal residence are
 *   equal and, when both have an SSN, the SSNs are equal, otherwise the identification document type
 *   and number are. A missing field never matches: sharing needs positive evidence. Comparison ignores
 *   case, spaces and hyphens.
 * - Same entity: always allowed on S1a, approved at once. Different entities with matching data:
 *   allowed, but compliance approves first (S4).
 */
import { DEVICE_CATALOGUE, securityRank } from './devices.ts';
import type { DeviceKind } from './devices.ts';

/** SPEC A2: what sharing compares. */
export interface Identification {
  readonly dateOfBirth: string | null;
  readonly citizenship: string | null;
  readonly residenceCountry: string | null;
  readonly idDocumentType: string | null;
  readonly idDocumentNumber: string | null;
  /** US citizens and residents: compared instead of the document when both have one. */
  readonly ssn: string | null;
}

export interface SharingDevice {
  readonly kind: DeviceKind;
  readonly status: 'pending' | 'active' | 'inactive' | 'lost' | 'returned' | 'revoked';
}

export interface SharingParty {
  readonly entityId: string;
  readonly identification: Identification;
  readonly devices: readonly SharingDevice[];
}

export type SharingRefusal =
  /** S2: IB Key is shared by adding the user inside the IB Key app (K3). */
  | 'ibkey_use_add_user'
  /** S2: SMS, temporary and other non-physical devices are never shared. */
  | 'device_not_shareable'
  /** S1b: one of the users has a temporary passcode or an online Security Code Card assigned. */
  | 'temporary_device_assigned'
  /** S1a: "Different identification information". */
  | 'different_identification'
  /** S1c: "Less secure device". */
  | 'less_secure_device';

export type SharingDecision =
  | { readonly allowed: true; /** S4: different entities with matching data wait for compliance. */ readonly needsCompliance: boolean }
  | { readonly allowed: false; readonly reason: SharingRefusal };

/** What each refusal tells the user (SPEC S6: the first two are the broker's exact error names). */
export const SHARING_REFUSAL_MESSAGES: Readonly<Record<SharingRefusal, string>> = {
  less_secure_device: 'Less secure device: a device of a higher security level exists among the two users. Please identify the most secure device and share that one.',
  different_identification:
    'Different identification information: the identification data of the users involved do not match. Users of different entities cannot share a device; if you belong to the same person or entity, contact client services to have the data rectified.',
  temporary_device_assigned:
    'A temporary security device (temporary passcode or online Security Code Card) is assigned to one of the users. Devices cannot be shared until it has been replaced by a regular device.',
  ibkey_use_add_user: 'IB Key is not shared this way: open the IB Key app on the phone and add the other user there (Authenticate → Add user).',
  device_not_shareable: 'Only physical security devices (Digital Security Card+, Security Code Card and the legacy tokens) can be shared.',
};

const normalize = (v: string | null): string | null => {
  if (v === null) return null;
  const n = v.normalize('NFKC').replace(/[\s-]+/g, '').toUpperCase();
  return n === '' ? null : n;
};

const same = (a: string | null, b: string | null): boolean => {
  const x = normalize(a);
  const y = normalize(b);
  return x !== null && x === y;
};

/** SPEC S1a, A2: do two entities' identification data match (module doc)? */
export function identificationMatches(a: Identification, b: Identification): boolean {
  if (!same(a.dateOfBirth, b.dateOfBirth) || !same(a.citizenship, b.citizenship) || !same(a.residenceCountry, b.residenceCountry)) return false;
  if (normalize(a.ssn) !== null && normalize(b.ssn) !== null) return same(a.ssn, b.ssn);
  return same(a.idDocumentType, b.idDocumentType) && same(a.idDocumentNumber, b.idDocumentNumber);
}

const COUNTS_FOR_LEVEL: ReadonlySet<SharingDevice['status']> = new Set(['active', 'inactive']);

/**
 * Has the user a temporary device assigned (S1b): an active temporary passcode or online code card?
 *
 * "Assigned" means still in its periods (T1: 12 days, T2: 21 days). The server retires an expired
 * one (status `revoked`, server/services/temporary-access.ts `expireTemporaryDevices`) before it
 * asks here, so a passcode replaced weeks ago by a regular device no longer blocks sharing.
 */
export function hasTemporaryDevice(devices: readonly SharingDevice[]): boolean {
  return devices.some((d) => d.status === 'active' && DEVICE_CATALOGUE[d.kind].temporary);
}

/** Can a device kind be shared at all (S2)? Physical devices with a security level. */
export function isShareableKind(kind: DeviceKind): boolean {
  const info = DEVICE_CATALOGUE[kind];
  return info.physical && info.securityLevel !== null && !info.temporary;
}

/**
 * Decide a sharing request (SPEC S1, S2, S4): `owner` holds `device`, `requester` wants to use it.
 */
export function decideSharing(requester: SharingParty, owner: SharingParty, device: { readonly kind: DeviceKind }): SharingDecision {
  if (device.kind === 'ibkey') return { allowed: false, reason: 'ibkey_use_add_user' };
  if (!isShareableKind(device.kind)) return { allowed: false, reason: 'device_not_shareable' };
  if (hasTemporaryDevice(requester.devices) || hasTemporaryDevice(owner.devices)) return { allowed: false, reason: 'temporary_device_assigned' };
  const sameEntity = requester.entityId === owner.entityId;
  if (!sameEntity && !identificationMatches(requester.identification, owner.identification)) return { allowed: false, reason: 'different_identification' };
  const highest = Math.max(
    0,
    ...[...requester.devices, ...owner.devices].filter((d) => COUNTS_FOR_LEVEL.has(d.status) && isShareableKind(d.kind)).map((d) => securityRank(d.kind)),
  );
  if (securityRank(device.kind) < highest) return { allowed: false, reason: 'less_secure_device' };
  return { allowed: true, needsCompliance: !sameEntity };
}

/**
 * GET /v1/sharing answers at most this many requests, the most recent first (SPEC S3, S5; N1: the
 * answer and the work per request stay bounded however many a user made). A requester has at most
 * one request open at a time (S5, server/services/sharing.ts), so the open ones are always among them;
 * older ended ones (cancelled, rejected) drop off the list, not out of the database or the audit log.
 */
export const SHARING_LIST_LIMIT = 50;
