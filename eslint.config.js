// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/.work/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['isomorphic-git', 'isomorphic-git/*'],
              message: 'Only src/git may import isomorphic-git.',
            },
            { group: ['express'], message: 'Only src/server may import express.' },
          ],
        },
      ],
    },
  },
  { files: ['src/git/**'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/server/**'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['test/**', 'bench/**'], rules: { 'no-restricted-imports': 'off' } },
);
