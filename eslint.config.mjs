// Lint: typescript-eslint's recommended rules, plus what STYLE.md asks (no focused or skipped tests).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', '.data/', 'coverage/', 'web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'focused tests (.only) must not be committed' },
        { selector: "CallExpression[callee.property.name='skip']", message: 'skipped tests (.skip) must not be committed' },
      ],
    },
  },
  {
    // The domain (issue 18): the areas' rules and use cases speak their own ports. No AWS SDK, no adapter, and no wire
    // envelope: events go out as `{event, payload}` through the delivery port, which builds the frame at the edge.
    files: ['shared/{chat,conference,presence,conversation,compliance,timers}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'the domain reaches AWS only through its ports (shared/ports.ts, shared/<area>/ports.ts)' },
            { group: ['**/adapters/*', '**/adapters'], message: 'adapters implement the ports; the domain never imports one' },
            { group: ['**/protocol/envelope'], message: 'use cases hand `{event, payload}` to their delivery port; the envelope is built at the edge' },
          ],
        },
      ],
    },
  },
  {
    // The browser app (web/): browser globals instead of Node's.
    files: ['web/src/**/*.{ts,tsx}'],
    languageOptions: {
      globals: {
        window: 'readonly', document: 'readonly', localStorage: 'readonly', sessionStorage: 'readonly', fetch: 'readonly', WebSocket: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', File: 'readonly', Event: 'readonly',
        process: 'off', __dirname: 'off', require: 'off', module: 'off',
      },
    },
  },
);
