// Lint rules: the recommended sets of ESLint and typescript-eslint, nothing exotic.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.guardgate/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read JSON bodies loosely; the assertions check their shape.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['web/**/*.js'],
    languageOptions: { globals: { document: 'readonly', window: 'readonly', fetch: 'readonly', console: 'readonly', sessionStorage: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setTimeout: 'readonly', confirm: 'readonly', devicePixelRatio: 'readonly', getComputedStyle: 'readonly', addEventListener: 'readonly', URL: 'readonly', Blob: 'readonly', uPlot: 'readonly' } },
  },
);
