import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', '.tap/**'] }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A dropped queue.add or query promise loses work silently.
      '@typescript-eslint/no-floating-promises': ['error', {
        // tap collects subtests itself; awaiting each t.test would serialise nothing and add noise.
        allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'only', 'skip', 'todo'], package: '@tapjs/test' }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // The dashboard bundle: esbuild erases type-only imports, so only the dependency-free constants may be bundled.
    files: ['ui/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/src/**/*.ts', '!**/src/modules/*/*.constants.ts'],
          allowTypeImports: true,
          message: 'ui/ takes only types from src/ (import type) and values from src/modules/<area>/<area>.constants.ts.',
        }],
      }],
    },
  },
  {
    // What the /ui bundle may import as values: nothing else comes with them.
    files: ['src/modules/*/*.constants.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['*'], message: 'Constants files import nothing: the /ui bundle includes them.' }] }],
    },
  },
  {
    // The layers below the domain modules never reach up into them.
    files: ['src/config.ts', 'src/errors.ts', 'src/db/**', 'src/aws/**', 'src/providers/**', 'src/net/**', 'src/crypto/**', 'src/storage/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/modules/**'], message: 'Lower layers may not import src/modules; move what they need below them.' }] }],
    },
  },
]
