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
]
