// Runs a TypeScript entry point of this package under tsx, so the CLIs work from a clean checkout
// without a build step (`npx slsd`, `npx slsctl`, `npx ibkey`, `npx dscplus-emulator`).
import { register } from 'tsx/esm/api';

register();

export async function run(entry) {
  const mod = await import(new URL(entry, import.meta.url).href);
  if (typeof mod.main === 'function') await mod.main(process.argv.slice(2));
}
