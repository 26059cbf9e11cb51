// Browser tests: the dashboard bundled by esbuild into a temp dir, the real app listening on a free port, and
// Debian's Chromium driven by playwright-core (one browser per test file, closed in teardown).
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import tap, { type Test } from 'tap'
import { buildApp, type App } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { closeDependencies, createDependencies, type Dependencies } from '../../src/dependencies.ts'
import { startWorkers, type WorkerRunner } from '../../src/workers/runner.ts'
import { buildUi } from '../../scripts/build-ui.ts'
import { prepareDatabase, testConfig } from './build.ts'

export const CHROMIUM_PATH = '/usr/bin/chromium'

let uiDir: Promise<string> | undefined

/** Bundles ui/ once per test file, so `npm test` needs no separate build step. */
export function builtUi (): Promise<string> {
  uiDir ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outreach-ui-'))
    tap.teardown(() => rm(dir, { recursive: true, force: true }))
    await buildUi(dir)
    return dir
  })()
  return uiDir
}

export interface Dashboard {
  app: App
  deps: Dependencies
  workers: WorkerRunner | null
  origin: string
  url: (path: string) => string
  /** A fresh API key of a new tenant (each key has its own rate-limit budget). */
  key: (tenant: string, scopes?: string[]) => Promise<string>
}

export const ALL_SCOPES = [
  'campaigns.read', 'campaigns.write', 'contacts.read', 'contacts.write', 'suppressions.read', 'suppressions.write',
  'webhooks.read', 'webhooks.write', 'templates.read', 'templates.write',
]

/** The production app (and, with workers, the production workers) on 127.0.0.1, serving the freshly built UI. */
export async function startDashboard (t: Test, options: { config?: Partial<Config>, workers?: boolean } = {}): Promise<Dashboard> {
  await prepareDatabase()
  const uiRoot = await builtUi()
  const deps = await createDependencies(testConfig(options.config))
  const app = await buildApp(deps, { logger: false, uiRoot })
  const workers = options.workers ? await startWorkers(deps) : null
  t.teardown(async () => {
    await app.close()
    await workers?.close()
    await closeDependencies(deps)
  })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    app,
    deps,
    workers,
    origin,
    url: (path: string) => origin + path,
    async key (tenant, scopes = ALL_SCOPES) {
      return (await deps.apiKeys.create({ tenant, scopes: scopes as Parameters<typeof deps.apiKeys.create>[0]['scopes'] })).key
    },
  }
}

/** Chromium as the issue asks: headless, no sandbox (containers), no GPU, no background network traffic. */
export async function launchBrowser (t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install -y chromium); .ci/run does`)
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  t.teardown(() => browser.close())
  return browser
}

/** Opens /ui in a new page and signs in with the key through the form. */
export async function signIn (browser: Browser, dashboard: Dashboard, key: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  // Everything the page loads must come from the service itself (no CDN): record anything else.
  page.on('request', (request) => {
    if (!request.url().startsWith(dashboard.origin) && !request.url().startsWith('data:')) foreignRequests.push(request.url())
  })
  await page.goto(dashboard.url('/ui/'))
  await page.getByLabel('API key').fill(key)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('navigation', { name: 'Dashboard' }).waitFor()
  return page
}

/** URLs pages asked for outside the service; a test asserts it stays empty. */
export const foreignRequests: string[] = []

/** True when the page is wider than its viewport (something overflows sideways). */
export async function overflowsHorizontally (page: Page): Promise<boolean> {
  // A string, because this file is compiled for Node (no DOM types); it runs in the page.
  return await page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth') as boolean
}
