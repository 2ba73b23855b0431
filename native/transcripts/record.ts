/**
 * Records native/transcripts/*.txt from real emulator sessions (a RecordingChannel over the socket).
 *
 * Run: `npx tsx native/transcripts/record.ts` — rewrites the transcripts; commit them with the
 * change that made them differ. A fresh card (3 tries) is provisioned for each session.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newDscPlusState } from '../../core/dscplus-state.ts';
import { DscPlusEmulator } from '../emulator/emulator.ts';
import { connectEmulator } from '../socket-channel.ts';
import { RecordingChannel } from '../transcript.ts';
import { SCENARIOS, TRANSCRIPT_CARD } from './scenarios.ts';

export async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dscplus-record-'));
  try {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const stateFile = path.join(dir, `${name}.json`);
      await writeFile(stateFile, JSON.stringify(newDscPlusState({ ...TRANSCRIPT_CARD })));
      const emulator = await DscPlusEmulator.start({ stateFile, dir });
      const channel = new RecordingChannel(await connectEmulator(emulator.address!), [
        `DSC+ protocol transcript "${name}", recorded from the emulator by native/transcripts/record.ts.`,
        '=> host to device, <= device to host; one 64-byte packet a line, trailing zero bytes left out.',
      ]);
      const result = await scenario(channel, {
        enterPin: (pin) => emulator.keypad.enter(pin),
        pressCancel: () => emulator.keypad.cancel(),
      });
      await emulator.close();
      const file = path.join(import.meta.dirname, `${name}.txt`);
      await writeFile(file, channel.transcript());
      console.log(`${name}: ${channel.lines.length} lines, ${JSON.stringify(result)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
