// Sharing a physical device (SPEC S1, S2, S4, S6): the rules, pure.
import { describe, expect, it } from 'vitest';
import { decideSharing, identificationMatches, isShareableKind, SHARING_REFUSAL_MESSAGES } from './sharing.ts';
import type { Identification, SharingDevice, SharingParty } from './sharing.ts';

const jane: Identification = {
  dateOfBirth: '1980-04-12',
  citizenship: 'IT',
  residenceCountry: 'CH',
  idDocumentType: 'passport',
  idDocumentNumber: 'YA1234567',
  ssn: null,
};
const party = (entityId: string, devices: SharingDevice[], identification: Identification = jane): SharingParty => ({ entityId, identification, devices });
const active = (kind: SharingDevice['kind']): SharingDevice => ({ kind, status: 'active' });

describe('S1a identification (SPEC A2)', () => {
  it('S1a: equal data match, ignoring case, spaces and hyphens', () => {
    expect(identificationMatches(jane, { ...jane, idDocumentNumber: 'ya 123-4567', citizenship: 'it' })).toBe(true);
  });
  it('S1a: any differing field does not match', () => {
    for (const k of ['dateOfBirth', 'citizenship', 'residenceCountry', 'idDocumentType', 'idDocumentNumber'] as const) {
      expect(identificationMatches(jane, { ...jane, [k]: 'X' }), k).toBe(false);
    }
  });
  it('S1a: a missing field never matches, even on both sides', () => {
    expect(identificationMatches({ ...jane, dateOfBirth: null }, { ...jane, dateOfBirth: null })).toBe(false);
    expect(identificationMatches({ ...jane, idDocumentNumber: '' }, { ...jane, idDocumentNumber: '' })).toBe(false);
  });
  it('S1a: US persons: the SSN decides when both have one', () => {
    const us = { ...jane, citizenship: 'US', residenceCountry: 'US', ssn: '123-45-6789' };
    expect(identificationMatches(us, { ...us, idDocumentNumber: 'OTHER', ssn: '123456789' })).toBe(true);
    expect(identificationMatches(us, { ...us, ssn: '987-65-4321' })).toBe(false);
  });
});

describe('decideSharing (SPEC S1, S2, S4)', () => {
  it('S1: same entity, DSC+ shared, the requester holding only a code card: approved at once', () => {
    expect(decideSharing(party('e1', [active('scc')]), party('e1', [active('dscplus')]), { kind: 'dscplus' })).toEqual({ allowed: true, needsCompliance: false });
  });
  it('S1c: "Less secure device" when the requester holds a DSC+ and the owner\'s code card is offered', () => {
    expect(decideSharing(party('e1', [active('dscplus')]), party('e1', [active('scc')]), { kind: 'scc' })).toEqual({ allowed: false, reason: 'less_secure_device' });
  });
  it('S1c: the owner\'s own higher device counts too', () => {
    expect(decideSharing(party('e1', []), party('e1', [active('scc'), active('gold')]), { kind: 'scc' })).toMatchObject({ reason: 'less_secure_device' });
  });
  it('S1c: a tie lets either be shared (Gold and DSC+ are both level 3)', () => {
    expect(decideSharing(party('e1', [active('dscplus')]), party('e1', [active('gold')]), { kind: 'gold' }).allowed).toBe(true);
  });
  it('S1c: a level-2 DSC against a level-1 card is fine; against a level-3 one it is not', () => {
    expect(decideSharing(party('e1', [active('scc')]), party('e1', [active('dsc')]), { kind: 'dsc' }).allowed).toBe(true);
    expect(decideSharing(party('e1', [active('platinum')]), party('e1', [active('dsc')]), { kind: 'dsc' })).toMatchObject({ reason: 'less_secure_device' });
  });
  it('S1c: inactive devices (set aside by an earlier sharing, S5) count; lost and returned ones do not', () => {
    expect(decideSharing(party('e1', [{ kind: 'dscplus', status: 'inactive' }]), party('e1', [active('scc')]), { kind: 'scc' })).toMatchObject({ reason: 'less_secure_device' });
    expect(decideSharing(party('e1', [{ kind: 'dscplus', status: 'lost' }, { kind: 'gold', status: 'returned' }]), party('e1', [active('scc')]), { kind: 'scc' }).allowed).toBe(true);
  });
  it('S1c: IB Key and SMS have no level and never make a shared device "less secure"', () => {
    expect(decideSharing(party('e1', [active('ibkey'), active('sms')]), party('e1', [active('scc')]), { kind: 'scc' }).allowed).toBe(true);
  });
  it('S1a: "Different identification information" across entities whose data differ', () => {
    expect(decideSharing(party('e1', []), party('e2', [active('dscplus')], { ...jane, idDocumentNumber: 'ZZ999' }), { kind: 'dscplus' })).toEqual({
      allowed: false,
      reason: 'different_identification',
    });
  });
  it('S4: different entities with matching data: allowed, pending compliance', () => {
    expect(decideSharing(party('e1', []), party('e2', [active('dscplus')]), { kind: 'dscplus' })).toEqual({ allowed: true, needsCompliance: true });
  });
  it('S1b: a temporary passcode of either user blocks sharing', () => {
    expect(decideSharing(party('e1', [active('temp_passcode')]), party('e1', [active('dscplus')]), { kind: 'dscplus' })).toEqual({ allowed: false, reason: 'temporary_device_assigned' });
    expect(decideSharing(party('e1', []), party('e1', [active('dscplus'), active('online_scc')]), { kind: 'dscplus' })).toMatchObject({ reason: 'temporary_device_assigned' });
  });
  it('S1b: a revoked temporary passcode no longer blocks', () => {
    expect(decideSharing(party('e1', [{ kind: 'temp_passcode', status: 'revoked' }]), party('e1', [active('dscplus')]), { kind: 'dscplus' }).allowed).toBe(true);
  });
  it('S2: IB Key is never shared this way: add the user inside the app (K3)', () => {
    expect(decideSharing(party('e1', []), party('e1', [active('ibkey')]), { kind: 'ibkey' })).toEqual({ allowed: false, reason: 'ibkey_use_add_user' });
    expect(SHARING_REFUSAL_MESSAGES.ibkey_use_add_user).toMatch(/Add user/);
  });
  it('S2: SMS, temporary passcodes and online code cards are not shareable', () => {
    for (const kind of ['sms', 'temp_passcode', 'online_scc'] as const) {
      expect(decideSharing(party('e1', []), party('e1', [active(kind)]), { kind })).toEqual({ allowed: false, reason: 'device_not_shareable' });
    }
    expect(['dscplus', 'platinum', 'gold', 'dsc', 'scc'].every((k) => isShareableKind(k as never))).toBe(true);
  });
  it('S6: the messages start with the broker\'s exact error names', () => {
    expect(SHARING_REFUSAL_MESSAGES.less_secure_device.startsWith('Less secure device')).toBe(true);
    expect(SHARING_REFUSAL_MESSAGES.different_identification.startsWith('Different identification information')).toBe(true);
  });
  it('S2 before S1b before S1a before S1c: the first failing rule is named', () => {
    const tempOther = party('e2', [active('temp_passcode'), active('dscplus')], { ...jane, dateOfBirth: '1999-01-01' });
    expect(decideSharing(party('e1', [active('dscplus')]), tempOther, { kind: 'ibkey' })).toMatchObject({ reason: 'ibkey_use_add_user' });
    expect(decideSharing(party('e1', [active('dscplus')]), tempOther, { kind: 'scc' })).toMatchObject({ reason: 'temporary_device_assigned' });
    expect(decideSharing(party('e1', [active('dscplus')]), party('e2', [active('scc')], { ...jane, dateOfBirth: '1999-01-01' }), { kind: 'scc' })).toMatchObject({
      reason: 'different_identification',
    });
  });
});
