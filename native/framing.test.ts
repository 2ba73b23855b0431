import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BROADCAST_CID, Command, ErrorCode, MAX_MESSAGE_SIZE, PACKET_SIZE, Reassembler, encodeMessage, fromHex, toHex,
  type HidMessage, type ReassemblyEvent,
} from './framing.ts';

const arbMessage = fc.record({
  cid: fc.integer({ min: 0, max: 0xffffffff }),
  cmd: fc.integer({ min: 0x80, max: 0xff }),
  payload: fc.uint8Array({ minLength: 0, maxLength: MAX_MESSAGE_SIZE }),
});

function reassemble(packets: Uint8Array[]): ReassemblyEvent[] {
  const r = new Reassembler();
  return packets.map((p) => r.push(p));
}

describe('DSC+ framing (protocols/dscplus-hid.md, SPEC H2)', () => {
  it('lays out an initialization packet: CID, CMD with bit 7, BCNT big-endian, zero padding', () => {
    const [p] = encodeMessage({ cid: 0x01020304, cmd: Command.PING, payload: new Uint8Array([0xaa, 0xbb]) });
    expect(toHex(p!)).toBe('0102030481' + '0002' + 'aabb' + '00'.repeat(55));
  });

  it('uses exactly 129 packets for the largest message (57 + 128 × 59 = 7609 bytes)', () => {
    const packets = encodeMessage({ cid: 1, cmd: Command.PING, payload: new Uint8Array(7609) });
    expect(packets).toHaveLength(129);
    expect(packets[128]![4]).toBe(0x7f);
    expect(() => encodeMessage({ cid: 1, cmd: Command.PING, payload: new Uint8Array(7610) })).toThrow(/exceeds 7609/);
  });

  it('refuses a command without bit 7', () => {
    expect(() => encodeMessage({ cid: 1, cmd: 0x01, payload: new Uint8Array() })).toThrow(/bit 7/);
  });

  it('property: any message up to 7609 bytes survives encode → split → reassemble', () => {
    fc.assert(
      fc.property(arbMessage, (msg: HidMessage) => {
        const packets = encodeMessage(msg);
        expect(packets.every((p) => p.length === PACKET_SIZE)).toBe(true);
        const events = reassemble(packets);
        expect(events.slice(0, -1).every((e) => e.type === 'partial')).toBe(true);
        const last = events.at(-1)!;
        expect(last.type).toBe('message');
        if (last.type === 'message') {
          expect(last.message.cid).toBe(msg.cid);
          expect(last.message.cmd).toBe(msg.cmd);
          expect(toHex(last.message.payload)).toBe(toHex(msg.payload));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('property: an out-of-sequence continuation is detected as INVALID_SEQ and aborts the message', () => {
    const multi = fc.record({
      cid: fc.integer({ min: 1, max: 0xfffffffe }),
      cmd: fc.constantFrom(Command.PING, Command.RESPOND),
      payload: fc.uint8Array({ minLength: 57 + 2 * 59 + 1, maxLength: 3000 }),
    });
    fc.assert(
      fc.property(multi, fc.nat(), fc.nat(), (msg, a, b) => {
        const packets = encodeMessage(msg);
        const conts = packets.length - 1; // ≥ 3
        const i = 1 + (a % conts);
        const j = 1 + ((i - 1 + 1 + (b % (conts - 1))) % conts); // any continuation but the i-th
        expect(j).not.toBe(i);
        // Deliver continuation j in place of i: a skipped, repeated or swapped SEQ.
        const tampered = packets.slice(0, i).concat([packets[j]!]);
        const events = reassemble(tampered);
        const last = events.at(-1)!;
        expect(last).toEqual({ type: 'error', cid: msg.cid, code: ErrorCode.INVALID_SEQ, aborted: true });
      }),
      { numRuns: 200 },
    );
  });

  it('answers CHANNEL_BUSY to another channel and lets the message in progress go on', () => {
    const a = encodeMessage({ cid: 7, cmd: Command.PING, payload: new Uint8Array(100).fill(1) });
    const b = encodeMessage({ cid: 8, cmd: Command.INFO, payload: new Uint8Array() });
    const r = new Reassembler();
    expect(r.push(a[0]!).type).toBe('partial');
    expect(r.push(b[0]!)).toEqual({ type: 'error', cid: 8, code: ErrorCode.CHANNEL_BUSY, aborted: false });
    const done = r.push(a[1]!);
    expect(done.type).toBe('message');
  });

  it('lets INIT through on any channel; on the busy channel it resynchronises (drops the partial message)', () => {
    const a = encodeMessage({ cid: 7, cmd: Command.PING, payload: new Uint8Array(100) });
    const init = (cid: number) => encodeMessage({ cid, cmd: Command.INIT, payload: new Uint8Array(8) })[0]!;
    const r = new Reassembler();
    r.push(a[0]!);
    expect(r.push(init(BROADCAST_CID)).type).toBe('message');
    expect(r.busyCid).toBe(7);
    expect(r.push(init(7)).type).toBe('message');
    expect(r.busyCid).toBe(null);
    expect(r.push(a[1]!).type).toBe('ignored');
  });

  it('treats a new non-INIT message on the busy channel as out of sequence (CTAPHID)', () => {
    const a = encodeMessage({ cid: 7, cmd: Command.PING, payload: new Uint8Array(100) });
    const r = new Reassembler();
    r.push(a[0]!);
    expect(r.push(a[0]!)).toEqual({ type: 'error', cid: 7, code: ErrorCode.INVALID_SEQ, aborted: true });
  });

  it('answers INVALID_LEN to a BCNT over 7609 and to a packet that is not 64 bytes', () => {
    const p = new Uint8Array(64);
    p.set([0, 0, 0, 9, Command.PING, 0x1d, 0xba]); // 7610
    expect(new Reassembler().push(p)).toMatchObject({ type: 'error', cid: 9, code: ErrorCode.INVALID_LEN });
    expect(new Reassembler().push(new Uint8Array(63))).toMatchObject({ type: 'error', code: ErrorCode.INVALID_LEN });
  });

  it('times a message out after 500 ms with MSG_TIMEOUT', () => {
    const a = encodeMessage({ cid: 5, cmd: Command.PING, payload: new Uint8Array(100) });
    const r = new Reassembler();
    r.push(a[0]!, 1000);
    expect(r.expire(1499)).toBe(null);
    expect(r.expire(1500)).toEqual({ type: 'error', cid: 5, code: ErrorCode.MSG_TIMEOUT, aborted: true });
    expect(r.push(a[1]!, 1501).type).toBe('ignored');
  });

  it('ignores a continuation no message waits for', () => {
    const a = encodeMessage({ cid: 5, cmd: Command.PING, payload: new Uint8Array(100) });
    expect(new Reassembler().push(a[1]!)).toEqual({ type: 'ignored', cid: 5 });
  });

  it('round-trips hex and refuses malformed hex', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      expect(toHex(fromHex(toHex(b)))).toBe(toHex(b));
    }));
    expect(() => fromHex('abc')).toThrow();
    expect(() => fromHex('zz')).toThrow();
  });
});
