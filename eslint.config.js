// @ts-check
// Lint enforces the import rules of ARCHITECTURE.md:
//   core/      imports nothing of ours, nothing of Node or the DOM
//   renderer/  imports only core/ and browser code
//   native/ and server/ never import each other
//   only electron/ imports `electron`
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';
import globals from 'globals';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const ours = ['core', 'server', 'native', 'renderer', 'electron', 'ibkey', 'tests'];
const others = (...allowed) => ours.filter((d) => !allowed.includes(d)).map((d) => `./${d}`);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/dist/**', 'out/**', 'coverage/**', 'test-results/**', 'playwright-report/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'Only electron/ may import electron (ARCHITECTURE.md).' }] }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './core', from: others('core'), message: 'core/ is pure: it imports nothing of ours.' },
            { target: './renderer', from: others('renderer', 'core'), message: 'renderer/ imports only core/.' },
            { target: './server', from: ['./native', './renderer', './electron'], message: 'server/ never imports native/, renderer/ or electron/.' },
            { target: './native', from: ['./server', './renderer', './electron'], message: 'native/ never imports server/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['core/**/*.ts', 'renderer/**/*.{ts,tsx}'],
    ignores: ['**/*.test.ts', '**/*.test.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins.map((name) => ({ name, message: 'core/ and renderer/ must not use Node modules.' })), { name: 'electron', message: 'Only electron/ may import electron.' }],
        },
      ],
    },
  },
  {
    // Plain JavaScript entry points (bin shims, configs) run under Node.
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // CommonJS entry points (bin/slsd.cjs must run before Node's ES module loader starts libuv's pool).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['electron/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
