// Shared by the entrypoints: load config, start, and turn a bad start into one clear line and exit 1.
import { loadConfig } from './config.ts'
import { ConfigError } from './errors.ts'
import { MigrationError } from './db/migrate.ts'
import { startService, type Role } from './start.ts'

export async function runEntrypoint (role?: Role): Promise<void> {
  try {
    const config = await loadConfig()
    await startService(config, role ?? config.ROLE)
  } catch (err) {
    if (err instanceof ConfigError || err instanceof MigrationError) {
      process.stderr.write(`${err.message}\n`)
    } else {
      process.stderr.write(`outreach failed to start: ${(err as Error).stack ?? String(err)}\n`)
    }
    process.exit(1)
  }
}
