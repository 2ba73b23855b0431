import { describe, expect, it } from 'vitest';
import { Transport, type HidChannel } from './transport.ts';
import { Command, ErrorCode, encodeMessage, type HidMessage } from './framing.ts';
import { DeviceDisconnectedError, ProtocolError, TransportAbortedError, TransportBusyError, TransportTimeoutError } from './errors.ts';

/** A device stand-in: records what the host writes and lets the test answer. */
class FakeChannel implements HidChannel {
  readonly written: Uint8Array[] = [];
  readonly #packetListeners = new Set<(p: Uint8Array) => void>();
  readonly #closeListeners = new Set<(e?: Error) => void>();
  onWrite: (packet: Uint8Array) => void = () => {};
  async write(packet: Uint8Array): Promise<void> {
    this.written.push(packet);
    this.onWrite(packet);
  }
  onPacket(l: (p: Uint8Array) => void) {
    this.#packetListeners.add(l);
    return () => this.#packetListeners.delete(l);
  }
  onClose(l: (e?: Error) => void) {
    this.#closeListeners.add(l);
    return () => this.#closeListeners.delete(l);
  }
  async close() {
    this.unplug();
  }
  answer(message: HidMessage) {
    this.answerPackets(encodeMessage(message));
  }
  answerPackets(packets: Uint8Array[]) {
    for (const p of packets) for (const l of this.#packetListeners) l(p);
  }
  unplug() {
    for (const l of [...this.#closeListeners]) l(new Error('unplugged'));
  }
}

const ping = (cid = 1, bytes = [1, 2, 3]): HidMessage => ({ cid, cmd: Command.PING, payload: new Uint8Array(bytes) });
const keepAlive = (cid: number, status: number): HidMessage => ({ cid, cmd: Command.KEEPALIVE, payload: new Uint8Array([status]) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Transport (SPEC H2; ledgerjs/Trezor transport rules)', () => {
  it('resolves an exchange with the answer on its channel, reassembled from several packets', async () => {
    const ch = new FakeChannel();
    const t = new Transport(ch);
    const big = new Uint8Array(500).map((_, i) => i & 0xff);
    const packets = encodeMessage(ping(1, [...big])).length;
    ch.onWrite = () => {
      if (ch.written.length < packets) return;
      ch.answer({ cid: 2, cmd: Command.PING, payload: new Uint8Array([9]) }); // another channel: dropped
      ch.answer({ cid: 1, cmd: Command.PING, payload: big });
    };
    const answer = await t.exchange(ping(1, [...big]));
    expect(answer.payload).toEqual(big);
    expect(ch.written).toHaveLength(packets);
  });

  it('fails a second concurrent exchange with TransportBusyError and keeps the first', async () => {
    const ch = new FakeChannel();
    const t = new Transport(ch);
    const first = t.exchange(ping());
    await expect(t.exchange(ping())).rejects.toBeInstanceOf(TransportBusyError);
    ch.answer(ping());
    await expect(first).resolves.toMatchObject({ cmd: Command.PING });
    // The lock is released: the next exchange goes through.
    const next = t.exchange(ping());
    ch.answer(ping());
    await expect(next).resolves.toBeDefined();
  });

  it('rejects with TransportAbortedError when the signal fires, and releases the lock', async () => {
    const ch = new FakeChannel();
    const t = new Transport(ch);
    const ac = new AbortController();
    const p = t.exchange(ping(), { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(TransportAbortedError);
    expect(t.busy).toBe(false);
    await expect(t.exchange(ping(), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TransportAbortedError);
  });

  it('on abort with onAbort, keeps the lock until the device answers the cancel', async () => {
    const ch = new FakeChannel();
    const t = new Transport(ch);
    const ac = new AbortController();
    const p = t.exchange({ cid: 1, cmd: Command.RESPOND, payload: new Uint8Array([1, 0x31, 0]) }, {
      signal: ac.signal,
      onAbort: () => t.send({ cid: 1, cmd: Command.CANCEL, payload: new Uint8Array() }),
    });
    ac.abort();
    await sleep(5);
    expect(t.busy).toBe(true);
    expect(ch.written.at(-1)![4]).toBe(Command.CANCEL);
    ch.answer({ cid: 1, cmd: Command.ERROR, payload: new Uint8Array([ErrorCode.USER_CANCELLED]) });
    await expect(p).rejects.toBeInstanceOf(TransportAbortedError);
    expect(t.busy).toBe(false);
  });

  it('times out when the device stays silent', async () => {
    const t = new Transport(new FakeChannel());
    await expect(t.exchange(ping(), { timeoutMs: 30 })).rejects.toBeInstanceOf(TransportTimeoutError);
    expect(t.busy).toBe(false);
  });

  it('extends the timeout on each KEEPALIVE and reports its status', async () => {
    const ch = new FakeChannel();
    const t = new Transport(ch);
    const statuses: number[] = [];
    const p = t.exchange(ping(), { timeoutMs: 60, onKeepAlive: (s) => statuses.push(s) });
    for (let i = 0; i < 5; i++) {
      await sleep(30); // 150 ms in all, well past 60 ms, kept alive
      ch.answer(keepAlive(1, i === 0 ? 1 : 2));
    }
    ch.answer(ping());
    await expect(p).resolves.toMatchObject({ cmd: Command.PING });
    expect(statuses).toEqual([1, 2, 2, 2, 2]);
  });

  it('fails a pending exchange with DeviceDisconnectedError on unplug, and every later one', async () => {
    const ch = new FakeChannel();
    const t = new Transport(ch);
    let disconnected = false;
    t.onDisconnect(() => (disconnected = true));
    const p = t.exchange(ping());
    ch.unplug();
    await expect(p).rejects.toBeInstanceOf(DeviceDisconnectedError);
    expect(disconnected).toBe(true);
    await expect(t.exchange(ping())).rejects.toBeInstanceOf(DeviceDisconnectedError);
  });

  it('maps a write failure after unplug to DeviceDisconnectedError', async () => {
    const ch = new FakeChannel();
    ch.write = async () => {
      ch.unplug();
      throw new Error('EPIPE');
    };
    await expect(new Transport(ch).exchange(ping())).rejects.toBeInstanceOf(DeviceDisconnectedError);
  });

  it('fails at once with a PROTOCOL error on a garbled answer (continuation out of sequence, BCNT over 7609) instead of waiting out the timeout (protocols/dscplus-hid.md "Packets")', async () => {
    const ch = new FakeChannel();
    const t = new Transport(ch);
    const send = (packets: Uint8Array[]) => ch.answerPackets(packets);
    // A 200-byte answer whose SEQ 0 continuation is lost: SEQ 1 follows the initialization packet.
    const answer = encodeMessage({ cid: 1, cmd: Command.PING, payload: new Uint8Array(200).fill(7) });
    const started = performance.now();
    const first = t.exchange(ping(), { timeoutMs: 10_000 });
    send([answer[0]!, answer[2]!]);
    await expect(first).rejects.toBeInstanceOf(ProtocolError);
    expect(t.busy).toBe(false);
    // An initialization packet claiming more than the largest message.
    const huge = new Uint8Array(64);
    huge.set([0, 0, 0, 1, Command.PING, 0xff, 0xff]);
    const second = t.exchange(ping(), { timeoutMs: 10_000 });
    send([huge]);
    await expect(second).rejects.toMatchObject({ code: 'PROTOCOL' });
    expect(performance.now() - started).toBeLessThan(1_000);
    // The rest of a garbled answer is dropped; the next exchange works.
    const third = t.exchange(ping(), { timeoutMs: 10_000 });
    send(answer.slice(3));
    ch.answer(ping());
    await expect(third).resolves.toMatchObject({ cmd: Command.PING, payload: new Uint8Array([1, 2, 3]) });
  });

  it('refuses an oversized message before taking the lock', async () => {
    const t = new Transport(new FakeChannel());
    expect(() => t.exchange(ping(1, new Array(7610).fill(0)))).toThrow(/exceeds/);
    expect(t.busy).toBe(false);
  });
});
