// Writes openapi.yaml from the route schemas; with --check, fails when the committed file has drifted.
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { buildApp } from '../src/app.ts'
import { validateConfig } from '../src/config.ts'
import { closeDependencies, createDependencies } from '../src/dependencies.ts'

const OPENAPI_PATH = fileURLToPath(new URL('../openapi.yaml', import.meta.url))
const HEADER = '# Generated from the route schemas by `npm run openapi`; do not edit by hand.\n'

export async function renderOpenApi (): Promise<string> {
  // Route schemas do not depend on configuration; defaults are enough to build the app.
  const deps = await createDependencies(validateConfig({ LOG_LEVEL: 'silent' }))
  const app = await buildApp(deps, { logger: false })
  try {
    await app.ready()
    return HEADER + stringify(app.swagger(), { lineWidth: 0 })
  } finally {
    await app.close()
    await closeDependencies(deps)
  }
}

const check = process.argv.includes('--check')
const rendered = await renderOpenApi()
if (check) {
  const committed = await readFile(OPENAPI_PATH, 'utf8').catch(() => '')
  if (committed !== rendered) {
    process.stderr.write('openapi.yaml is out of date with the route schemas: run `npm run openapi` and commit it\n')
    process.exit(1)
  }
  process.stdout.write('openapi.yaml matches the route schemas\n')
} else {
  await writeFile(OPENAPI_PATH, rendered)
  process.stdout.write(`wrote ${OPENAPI_PATH}\n`)
}
