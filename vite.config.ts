import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The renderer (React) is built to dist/renderer with relative paths, so Electron can load it from
// file:// and the browser host can serve it from any loopback port. No inline scripts: the CSP of
// renderer/index.html forbids them (SPEC C3).
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'chrome120',
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
