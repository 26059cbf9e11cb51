// Structure checks for the container files (no Docker here): compose, Dockerfile, .dockerignore and .env.example agree with the code.
import { existsSync, readFileSync } from 'node:fs'
import { posix } from 'node:path'
import { parseEnv } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { ConfigSchema, validateConfig } from '../../src/config.ts'

const ROOT = new URL('../../', import.meta.url)

function readRepoFile (path: string): string {
  return readFileSync(new URL(path, ROOT), 'utf8')
}

const CONFIG_KEYS = Object.keys(ConfigSchema.properties)
const CONFIG_PROPERTIES = ConfigSchema.properties as Record<string, { default?: unknown, description?: string }>
const PACKAGE = JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }

// ---- docker-compose.yml ----

interface ComposeService {
  image?: string
  build?: string | { context?: string }
  environment?: Record<string, string | number | boolean | null> | string[]
  ports?: Array<string | number>
  depends_on?: string[] | Record<string, { condition?: string }>
  healthcheck?: { test?: string | string[], disable?: boolean }
  stop_grace_period?: string
}

// Merge keys (`<<: *anchor`) are YAML 1.1; Compose resolves them, so the test does too.
const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> }
const services = compose.services

function service (name: string): ComposeService {
  const found = services[name]
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`)
  return found
}

function environmentOf (svc: ComposeService): Record<string, string> {
  const env = svc.environment ?? {}
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map(entry => {
      const at = entry.indexOf('=')
      return at === -1 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)]
    }))
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]))
}

function dependenciesOf (svc: ComposeService): Record<string, string> {
  const deps = svc.depends_on ?? {}
  if (Array.isArray(deps)) return Object.fromEntries(deps.map(name => [name, 'service_started']))
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? 'service_started']))
}

/** "127.0.0.1:5432:5432", "3000:3000" or "8025" as { published, target }. */
function portsOf (svc: ComposeService): Array<{ published: string | undefined, target: string }> {
  return (svc.ports ?? []).map(port => {
    const parts = String(port).split('/')[0]!.split(':')
    return { published: parts.length > 1 ? parts.at(-2) : undefined, target: parts.at(-1)! }
  })
}

/** The service's ConfigSchema variables, validated as the container would load them. */
function configOf (name: string) {
  return validateConfig(Object.fromEntries(Object.entries(environmentOf(service(name))).filter(([key]) => CONFIG_KEYS.includes(key))))
}

function healthcheckCommand (svc: ComposeService): string {
  const test = svc.healthcheck?.test
  return Array.isArray(test) ? test.join(' ') : (test ?? '')
}

function durationMs (value: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(value)
  if (!match) throw new Error(`Unsupported duration ${value}`)
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm']
}

t.test('docker-compose.yml defines the local stack', async (t) => {
  t.same(Object.keys(services).sort(), ['api', 'mailpit', 'postgres', 'redis', 'worker'])
  t.match(service('postgres').image, /^postgres:16-alpine$/)
  t.match(service('redis').image, /^redis:7-alpine$/)
  t.match(service('mailpit').image, /^axllent\/mailpit(:|$)/)
  for (const name of ['api', 'worker']) {
    const build = service(name).build
    t.equal(typeof build === 'string' ? build : build?.context, '.', `${name} is built from this repo`)
  }
})

t.test('every service has a healthcheck that fits its image', async (t) => {
  for (const [name, svc] of Object.entries(services)) {
    t.ok(svc.healthcheck?.test && svc.healthcheck.disable !== true, `${name} has a healthcheck`)
  }
  t.match(healthcheckCommand(service('postgres')), /pg_isready/)
  t.match(healthcheckCommand(service('redis')), /redis-cli ping/)
  t.match(healthcheckCommand(service('mailpit')), /readyz/)
  for (const name of ['api', 'worker']) {
    const command = healthcheckCommand(service(name))
    t.match(command, /^CMD node -e .*fetch\('http:\/\/127\.0\.0\.1:3000\/health'\)/, `${name} probes /health with node's fetch`)
    t.notMatch(command, /curl|wget/, `${name} does not rely on tools the slim image lacks`)
  }
})

t.test('api and worker wait for healthy Postgres and Redis', async (t) => {
  for (const name of ['api', 'worker']) {
    const deps = dependenciesOf(service(name))
    t.equal(deps.postgres, 'service_healthy', `${name} waits for postgres`)
    t.equal(deps.redis, 'service_healthy', `${name} waits for redis`)
  }
  t.match(dependenciesOf(service('worker')).api, /^service_(started|healthy)$/, 'worker starts after api')
})

t.test('api and worker run their roles and publish the right ports', async (t) => {
  t.equal(environmentOf(service('api')).ROLE, 'api')
  t.equal(environmentOf(service('worker')).ROLE, 'worker')
  t.same(portsOf(service('api')), [{ published: '3000', target: '3000' }])
  t.same(portsOf(service('worker')), [], 'the worker publishes nothing, so it can be scaled')
  const mailpitPorts = portsOf(service('mailpit')).map(p => p.target).sort()
  t.same(mailpitPorts, ['1025', '8025'], 'Mailpit SMTP and web UI')
})

t.test('api and worker set only variables the service reads, with valid values', async (t) => {
  for (const name of ['api', 'worker']) {
    const env = environmentOf(service(name))
    const unknown = Object.keys(env).filter(key => !CONFIG_KEYS.includes(key))
    t.same(unknown, [], `${name} sets no variable missing from ConfigSchema`)

    const config = configOf(name)
    t.equal(new URL(config.DATABASE_URL).hostname, 'postgres', `${name} reaches the postgres service`)
    t.equal(new URL(config.REDIS_URL).hostname, 'redis', `${name} reaches the redis service`)
    t.ok(config.JWT_SECRET, `${name} has a development JWT secret`)
    t.equal(env.EMAIL_PROVIDER, 'smtp')
    t.equal(env.SMTP_SERVER, 'mailpit')
    t.equal(env.SMTP_PORT, '1025')

    const grace = service(name).stop_grace_period
    t.ok(grace && durationMs(grace) > config.SHUTDOWN_GRACE_MS, `${name} is given longer than SHUTDOWN_GRACE_MS to drain`)
  }
})

t.test('someone applies the migrations before the worker needs them', async (t) => {
  t.ok(configOf('api').MIGRATE_ON_START, 'the api migrates at start')
  if (!configOf('worker').MIGRATE_ON_START) {
    t.equal(dependenciesOf(service('worker')).api, 'service_healthy', 'a worker that does not migrate waits for a migrated (healthy) api')
  }
})

// ---- Dockerfile ----

interface Instruction { keyword: string, args: string }
interface Stage { base: string, name: string | undefined, instructions: Instruction[] }

function parseDockerfile (text: string): Stage[] {
  const stages: Stage[] = []
  let pending = ''
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    // Docker drops comment lines, including those inside a continued instruction.
    if (trimmed.startsWith('#') || (trimmed === '' && pending === '')) continue
    if (trimmed.endsWith('\\')) {
      pending += trimmed.slice(0, -1) + ' '
      continue
    }
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/s.exec(pending + trimmed) ?? []
    pending = ''
    const instruction = { keyword: keyword.toUpperCase(), args: args.trim() }
    if (instruction.keyword === 'FROM') {
      const [, base = '', name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args) ?? []
      stages.push({ base, name, instructions: [] })
    } else {
      const stage = stages.at(-1)
      if (!stage) throw new Error(`Dockerfile: ${instruction.keyword} before FROM`)
      stage.instructions.push(instruction)
    }
  }
  return stages
}

function argsOf (stage: Stage, keyword: string): string[] {
  return stage.instructions.filter(i => i.keyword === keyword).map(i => i.args)
}

function workdirOf (stage: Stage): string {
  return argsOf(stage, 'WORKDIR').reduce((dir, next) => posix.resolve(dir, next), '/')
}

interface Copy { from: string | undefined, sources: string[], destination: string }

function copiesOf (stage: Stage): Copy[] {
  return argsOf(stage, 'COPY').map(args => {
    const words = args.trim().startsWith('[') ? JSON.parse(args) as string[] : args.split(/\s+/)
    const flags = words.filter(w => w.startsWith('--'))
    const paths = words.filter(w => !w.startsWith('--'))
    const from = flags.find(f => f.startsWith('--from='))?.slice('--from='.length)
    return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! }
  })
}

/** Absolute paths a stage's COPY instructions create, as Docker places them. */
function copiedPaths (stage: Stage): string[] {
  const workdir = workdirOf(stage)
  return copiesOf(stage).flatMap(({ sources, destination }) => {
    const target = posix.resolve(workdir, destination)
    const intoDirectory = destination.endsWith('/') || destination === '.' || sources.length > 1
    return sources.map(source => intoDirectory ? posix.join(target, posix.basename(source)) : target)
  })
}

function isWithin (path: string, roots: string[]): boolean {
  return roots.some(root => path === root || path.startsWith(root + '/'))
}

const TSCONFIG_BUILD = JSON.parse(readRepoFile('tsconfig.build.json')) as { compilerOptions: { outDir: string, rootDir: string } }
const { outDir, rootDir } = TSCONFIG_BUILD.compilerOptions

/** Where tsc puts src/x/y.ts, relative to the build stage's working directory. */
function compiledPath (source: string): string {
  return posix.join(outDir, posix.relative(rootDir, source)).replace(/\.ts$/, '.js')
}

/** Paths a stage makes beyond what it copies: `npm ci` fills node_modules, `npm run build` fills outDir. */
function producedPaths (stage: Stage): string[] {
  const workdir = workdirOf(stage)
  const runs = argsOf(stage, 'RUN').join('\n')
  const produced = copiedPaths(stage)
  if (/\bnpm ci\b/.test(runs)) produced.push(posix.join(workdir, 'node_modules'))
  if (/\bnpm run build\b/.test(runs)) produced.push(posix.join(workdir, outDir))
  return produced
}

const dockerignore = readRepoFile('.dockerignore').split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#'))

function ignoredByDocker (path: string): boolean {
  const top = path.replace(/^\.\//, '').split('/')[0]!
  return dockerignore.some(pattern => {
    if (pattern.startsWith('!')) return false
    const regex = new RegExp('^' + pattern.replace(/\/$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$')
    return regex.test(top)
  })
}

const stages = parseDockerfile(readRepoFile('Dockerfile'))
const finalStage = stages.at(-1)!
const buildStage = stages.find(s => argsOf(s, 'RUN').some(r => /\bnpm run build\b/.test(r)))

t.test('Dockerfile builds in one stage and runs in a slimmer one', async (t) => {
  t.ok(stages.length >= 2, 'at least two FROM stages')
  t.ok(buildStage && buildStage !== finalStage, 'a build stage runs npm run build')
  t.equal(buildStage?.base, 'node:22-bookworm-slim')
  t.ok(argsOf(buildStage!, 'RUN').some(r => /\bnpm ci\b/.test(r)), 'the build stage installs every dependency with npm ci')
  t.equal(PACKAGE.scripts.build, 'tsc -p tsconfig.build.json && npm run build:ui', 'the server and the dashboard bundle')
  t.equal(PACKAGE.scripts['start:prod'], 'node dist/main.js')
  t.equal(outDir, 'dist')
})

t.test('the final stage installs production dependencies only and runs as node', async (t) => {
  const runs = argsOf(finalStage, 'RUN')
  t.ok(runs.some(r => r.includes('npm ci --omit=dev')), 'npm ci --omit=dev')
  t.notOk(runs.some(r => /\bnpm (ci|install)\b(?!.*--omit=dev)/.test(r)), 'no install that brings dev dependencies')
  t.equal(argsOf(finalStage, 'USER').at(-1), 'node', 'the last USER is the non-root node user')
  const userAt = finalStage.instructions.findIndex(i => i.keyword === 'USER')
  const cmdAt = finalStage.instructions.findIndex(i => i.keyword === 'CMD')
  t.ok(userAt !== -1 && userAt < cmdAt, 'USER comes before CMD')
  t.ok(argsOf(finalStage, 'ENV').some(e => /^NODE_ENV[= ]production$/.test(e)), 'ENV NODE_ENV=production')
  t.ok(argsOf(finalStage, 'EXPOSE').some(e => e.split(/\s+/).includes('3000')), 'EXPOSE 3000')
})

t.test('the final stage has a fetch HEALTHCHECK and starts dist/main.js', async (t) => {
  const healthchecks = argsOf(finalStage, 'HEALTHCHECK')
  t.equal(healthchecks.length, 1, 'one HEALTHCHECK')
  const healthcheck = healthchecks[0] ?? ''
  t.notMatch(healthcheck, /^NONE$/i)
  t.match(healthcheck, /CMD \["node", "-e", .*fetch\('http:\/\/127\.0\.0\.1:' \+ \(process\.env\.PORT \|\| 3000\) \+ '\/health'\)/)
  t.notMatch(healthcheck, /curl|wget/)

  const cmd = JSON.parse(argsOf(finalStage, 'CMD').at(-1) ?? 'null') as unknown
  t.same(cmd, ['node', 'dist/main.js'], 'exec-form CMD, so node gets SIGTERM directly')
  t.same(cmd, PACKAGE.scripts['start:prod']!.split(' '), 'the same command as npm run start:prod')
  t.ok(existsSync(new URL('src/main.ts', ROOT)), 'src/main.ts compiles to dist/main.js')
  t.equal(compiledPath('src/main.ts'), 'dist/main.js')
  t.ok(isWithin(posix.resolve(workdirOf(finalStage), 'dist/main.js'), copiedPaths(finalStage)), 'dist/main.js is copied into the final stage')
})

t.test('every COPY source exists in the build context or comes from an earlier stage', async (t) => {
  stages.forEach((stage, index) => {
    for (const { from, sources } of copiesOf(stage)) {
      for (const source of sources) {
        if (from === undefined) {
          t.ok(existsSync(new URL(source, ROOT)), `${source} exists in the repo`)
          t.notOk(ignoredByDocker(source), `${source} is not excluded by .dockerignore`)
          continue
        }
        const origin = stages.findIndex(s => s.name === from)
        t.ok(origin !== -1 && origin < index, `--from=${from} names an earlier stage`)
        t.ok(isWithin(source, producedPaths(stages[origin]!)), `${source} is produced by stage ${from}`)
      }
    }
  })
})

t.test('the final stage keeps the layout the compiled code resolves paths against', async (t) => {
  const workdir = workdirOf(finalStage)
  const copied = copiedPaths(finalStage)
  const relativeReads = [
    { file: 'src/db/migrate.ts', pattern: /new URL\('([^']+)', import\.meta\.url\)/, what: 'migrations directory' },
    { file: 'src/version.ts', pattern: /createRequire\(import\.meta\.url\)\('([^']+)'\)/, what: 'package.json' },
  ]
  for (const { file, pattern, what } of relativeReads) {
    const relative = pattern.exec(readRepoFile(file))?.[1]
    t.ok(relative, `${file} resolves the ${what} relative to itself`)
    const compiled = posix.join(workdir, compiledPath(file))
    const target = posix.resolve(posix.dirname(compiled), relative!)
    t.ok(isWithin(target, copied), `${compiledPath(file)} finds the ${what} at ${target}`)
  }
})

t.test('.dockerignore keeps secrets and local builds out of the context', async (t) => {
  for (const path of ['.env', 'node_modules', 'dist', '.git']) t.ok(ignoredByDocker(path), `${path} is ignored`)
  t.notOk(ignoredByDocker('src'))
  t.notOk(ignoredByDocker('migrations'))
})

// ---- .env.example ----

// Variables with a default are set to it; optional ones (no default) are commented out as `# NAME=`.
const COMMENTED_VARIABLE = /^#\s*([A-Z][A-Z0-9_]*=.*)$/
const ACTIVE_VARIABLE = /^[A-Z][A-Z0-9_]*=/
const envExampleLines = readRepoFile('.env.example').split('\n')
const activeVariables = parseEnv(envExampleLines.filter(l => ACTIVE_VARIABLE.test(l)).join('\n')) as Record<string, string>
const commentedVariables = parseEnv(envExampleLines.flatMap(l => COMMENTED_VARIABLE.exec(l)?.[1] ?? []).join('\n')) as Record<string, string>

t.test('.env.example lists exactly the ConfigSchema variables, once each', async (t) => {
  const listed = [...Object.keys(activeVariables), ...Object.keys(commentedVariables)]
  t.same([...listed].sort(), [...CONFIG_KEYS].sort())
  const lineCount = envExampleLines.filter(l => ACTIVE_VARIABLE.test(l) || COMMENTED_VARIABLE.test(l)).length
  t.equal(lineCount, CONFIG_KEYS.length, 'no variable appears twice')
})

t.test('.env.example sets each default and comments out the optional variables', async (t) => {
  for (const key of CONFIG_KEYS) {
    const fallback = CONFIG_PROPERTIES[key]!.default
    if (fallback === undefined) {
      t.ok(key in commentedVariables, `${key} has no default, so it is commented out`)
    } else {
      t.equal(activeVariables[key], String(fallback), `${key} shows its default`)
    }
  }
  t.same(validateConfig(activeVariables), validateConfig({}), 'copying it to .env changes nothing')
})

t.test('.env.example describes every variable in the line above it, in the schema\'s words', async (t) => {
  envExampleLines.forEach((line, index) => {
    if (!ACTIVE_VARIABLE.test(line) && !COMMENTED_VARIABLE.test(line)) return
    const previous = envExampleLines[index - 1] ?? ''
    const name = line.replace(/^#\s*/, '').split('=')[0]!
    t.ok(previous.startsWith('# ') && !COMMENTED_VARIABLE.test(previous), `${name} has a comment line`)
    const description = CONFIG_PROPERTIES[name]?.description
    if (description) t.ok(previous.startsWith(`# ${description}`), `${name}'s comment starts with its ConfigSchema description`)
  })
})
