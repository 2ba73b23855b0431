import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { deviceResponse } from '../core/codes.ts';
import { ocraPasswordHash } from '../core/ocra.ts';
import { DEVICE_CATALOGUE } from '../core/devices.ts';
import { ReplayChannel, TranscriptError, formatTranscriptLine, parseTranscript } from './transcript.ts';
import { SCENARIOS, TRANSCRIPT_CARD, type ScenarioResult } from './transcripts/scenarios.ts';
import { encodeMessage, Command } from './framing.ts';

const dir = path.join(import.meta.dirname, 'transcripts');
const load = (name: string) => readFile(path.join(dir, `${name}.txt`), 'utf8');
const noHands = { enterPin: () => {}, pressCancel: () => {} };

async function replay(name: string, text: string): Promise<{ result: ScenarioResult; channel: ReplayChannel }> {
  const channel = new ReplayChannel(text, `${name}.txt`);
  const result = await SCENARIOS[name]!(channel, noHands);
  return { result, channel };
}

const expectedResults: Record<string, ScenarioResult> = {
  'respond-success': {
    response: deviceResponse('dscplus', TRANSCRIPT_CARD.secret, '314159', {
      pinHash: ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, TRANSCRIPT_CARD.pin),
    }),
  },
  'respond-wrong-pin': { error: { name: 'PinInvalidError', triesLeft: 2 } },
  'respond-cancel': { error: 'UserCancelledError' },
  'ping-multipacket': { echoed: true },
};

describe('DSC+ driver replayed from recorded transcripts (SPEC H2; ledgerjs record/replay)', () => {
  for (const name of Object.keys(SCENARIOS)) {
    it(`replays ${name}.txt line for line with no line left over`, async () => {
      const { result, channel } = await replay(name, await load(name));
      expect(result).toMatchObject(expectedResults[name]!);
      channel.assertDone();
    });
  }

  it('the success transcript carries INFO of the recorded card', async () => {
    const { result } = await replay('respond-success', await load('respond-success'));
    expect(result.info).toMatchObject({ serial: TRANSCRIPT_CARD.serial, triesLeft: 3, state: 'ready' });
  });

  it('fails with the line number when the host sends something else than a => line says', async () => {
    const text = await load('respond-success');
    // Tamper with the challenge the host sends in RESPOND ("314159" → "314158"): the host still sends 314159.
    const tampered = text.replace('333134313539', '333134313538');
    expect(tampered).not.toBe(text);
    const line = text.split('\n').findIndex((l) => l.includes('333134313539')) + 1;
    const error = await replay('respond-success', tampered).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscriptError);
    expect((error as TranscriptError).line).toBe(line);
    expect((error as Error).message).toContain(`line ${line}`);
  });

  it('a tampered device line changes the result (the response digits), so the scenario check fails', async () => {
    const text = await load('respond-success');
    const expected = expectedResults['respond-success']!.response as string;
    const digitsHex = Buffer.from(expected, 'ascii').toString('hex');
    const altered = Buffer.from(expected.replace(/^./, (d) => String((Number(d) + 1) % 10)), 'ascii').toString('hex');
    const tampered = text.replace(digitsHex, altered);
    expect(tampered).not.toBe(text);
    const { result } = await replay('respond-success', tampered);
    expect(result.response).not.toBe(expected);
  });

  it('fails on a line left unused at the end', async () => {
    const text = await load('ping-multipacket');
    const extra = `${text}=> ${'00'.repeat(5)}\n`;
    const { channel } = await replay('ping-multipacket', extra);
    expect(() => channel.assertDone()).toThrow(new RegExp(`line ${extra.trim().split('\n').length} was never used`));
  });

  it('fails when the host sends a packet where the device was to speak', async () => {
    const channel = new ReplayChannel('<= ffffffff860011\n');
    await expect(channel.write(encodeMessage({ cid: 1, cmd: Command.PING, payload: new Uint8Array() })[0]!)).rejects.toThrow(/line 1/);
    expect(() => channel.assertDone()).toThrow(TranscriptError);
  });

  it('padding rule: trailing zero bytes are left out but never the header, and put back when read', () => {
    const [init] = encodeMessage({ cid: 0x0a0b0c0d, cmd: Command.INFO, payload: new Uint8Array() });
    expect(formatTranscriptLine('=>', init!)).toBe('=> 0a0b0c0dc00000');
    const parsed = parseTranscript('# comment\n\n=> 0a0b0c0dc00000\n');
    expect(parsed).toHaveLength(1);
    expect(parsed[0]!.line).toBe(3);
    expect(parsed[0]!.packet).toEqual(init);
    expect(() => parseTranscript(`=> ${'00'.repeat(65)}`)).toThrow(/line 1/);
    expect(() => parseTranscript('=> 0a0b0c0dc0000')).toThrow(TranscriptError);
    expect(() => parseTranscript('>> 0a0b0c0dc00000')).toThrow(/line 1/);
  });
});
