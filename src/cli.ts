// Admin CLI: `migrate` and `api-keys create|list|revoke`. Prints JSON on stdout; errors on stderr, exit 1.
import { parseArgs } from 'node:util'
import { loadConfig } from './config.ts'
import { createPool, poolTimeouts } from './db/pool.ts'
import { ensureDatabase, runMigrations } from './db/migrate.ts'
import { createApiKeysService } from './modules/api-keys/api-keys.service.ts'
import { SCOPES } from './modules/api-keys/scopes.ts'

const USAGE = `Usage: npm run cli -- <command>

  migrate                                     create the database if missing and apply migrations
  api-keys create --tenant NAME --scopes S    create a key (S: comma-separated scopes, or "all"); prints it once
                  [--name LABEL]
  api-keys list [--tenant NAME]               list keys (never the key itself)
  api-keys revoke --id ID                     revoke a key at once

Scopes: ${SCOPES.join(', ')}`

class UsageError extends Error {}

function parseScopes (value: string | undefined): string[] {
  if (!value) throw new UsageError('--scopes is required')
  if (value.trim() === 'all') return [...SCOPES]
  return value.split(/[\s,]+/).filter(Boolean)
}

async function main (argv: string[]): Promise<unknown> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      scopes: { type: 'string' },
      name: { type: 'string' },
      id: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command, subcommand] = positionals
  if (values.help) throw new UsageError('')
  if (!command) throw new UsageError('A command is required')

  const config = await loadConfig()
  if (command === 'migrate') await ensureDatabase(config.DATABASE_URL)
  const pool = createPool(config.DATABASE_URL, 2, poolTimeouts(config))
  try {
    if (command === 'migrate') return await runMigrations(pool)
    if (command !== 'api-keys') throw new UsageError(`Unknown command: ${command}`)
    const apiKeys = createApiKeysService(pool)
    switch (subcommand) {
      case 'create':
        if (!values.tenant) throw new UsageError('--tenant is required')
        return await apiKeys.create({ tenant: values.tenant, scopes: parseScopes(values.scopes), ...(values.name ? { name: values.name } : {}) })
      case 'list':
        return (await apiKeys.list(values.tenant)).map(key => ({
          id: key.id,
          tenant: key.tenantName,
          name: key.name,
          keyPrefix: key.keyPrefix,
          scopes: key.scopes,
          createdAt: key.createdAt,
          lastUsedAt: key.lastUsedAt,
          revokedAt: key.revokedAt,
        }))
      case 'revoke': {
        if (!values.id) throw new UsageError('--id is required')
        if (!/^[0-9a-f-]{36}$/i.test(values.id)) throw new Error(`No API key with id ${values.id}`)
        const revoked = await apiKeys.revoke(values.id)
        if (!revoked) throw new Error(`No active API key with id ${values.id}`)
        return { id: values.id, revoked: true }
      }
      default:
        throw new UsageError(`Unknown api-keys command: ${subcommand ?? '(none)'}`)
    }
  } finally {
    await pool.end()
  }
}

try {
  const result = await main(process.argv.slice(2))
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
} catch (err) {
  if (err instanceof UsageError) {
    // Asked-for help goes to stdout (so it can be piped); a usage mistake goes to stderr.
    if (!err.message) process.stdout.write(USAGE + '\n')
    else process.stderr.write(`${err.message}\n\n${USAGE}\n`)
    process.exit(err.message ? 1 : 0)
  }
  process.stderr.write(JSON.stringify({ error: (err as Error).message }) + '\n')
  process.exit(1)
}
