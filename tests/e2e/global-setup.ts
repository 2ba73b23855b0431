import { execFileSync } from 'node:child_process';

/** Build the renderer once for the whole run; the browser host serves dist/renderer. */
export default function globalSetup(): void {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
}
