// Starts the API, the workers or both in this process, and drains them on SIGTERM with close-with-grace.
import closeWithGrace from 'close-with-grace'
import type { Config } from './config.ts'
import { buildApp } from './app.ts'
import { closeDependencies, createDependencies } from './dependencies.ts'
import { ensureDatabase, runMigrations } from './db/migrate.ts'
import { startWorkers, type WorkerRunner } from './workers/runner.ts'

export type Role = Config['ROLE']

export async function startService (config: Config, role: Role = config.ROLE) {
  const deps = await createDependencies(config)
  const { logger } = deps
  // close-with-grace logs the error that ends the process; this says whether it was thrown or a rejected promise.
  process.on('uncaughtExceptionMonitor', (err, origin) => logger.fatal({ err, origin }, 'uncaught error'))

  if (config.MIGRATE_ON_START) {
    if (await ensureDatabase(config.DATABASE_URL)) logger.info('created database')
    const { applied } = await runMigrations(deps.pool)
    if (applied.length > 0) logger.info({ applied }, 'applied migrations')
  }

  // A worker-only process still answers /health, /ready and /metrics for its container and scraper.
  const app = await buildApp(deps, { loggerInstance: logger, opsOnly: role === 'worker' })
  let workers: WorkerRunner | undefined

  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error')
    else logger.info({ signal }, 'shutting down: draining requests and jobs')
    // Stop intake first, then wait for in-flight jobs, then close pools: each step even if one fails.
    await app.close().catch((error: unknown) => logger.error({ err: error }, 'error while closing the HTTP server'))
    await workers?.close()
    await closeDependencies(deps)
  })

  if (role !== 'api') workers = await startWorkers(deps)
  await app.listen({ host: config.HOST, port: config.PORT })
  logger.info({ role }, 'outreach started')
  return { app, deps }
}
