// Idempotency-Key: replay of stored answers, reuse and in-progress conflicts, release on 5xx, tenant isolation, purge.
import type { Job } from 'bullmq'
import t, { type Test } from 'tap'
import { Type } from 'typebox'
import type { App } from '../../src/app.ts'
import { createMaintenanceProcessor } from '../../src/workers/maintenance.worker.ts'
import { build, uniqueName } from '../helpers/build.ts'

interface Deferred { promise: Promise<void>, resolve: () => void }
function deferred (): Deferred {
  let settle!: () => void
  const promise = new Promise<void>((resolve) => { settle = resolve })
  return { promise, resolve: settle }
}

interface Harness {
  app: App
  /** How many times each handler body ran. */
  runs: { things: number, slow: number, flaky: number, validated: number }
  /** The slow handler signals `entered` and then waits for `gate`. */
  slow: { entered: Deferred, gate: Deferred }
}

async function harness (t: Test): Promise<Harness> {
  const app = await build(t)
  const auth = app.authenticate.apiKey('campaigns.write')
  const runs = { things: 0, slow: 0, flaky: 0, validated: 0 }
  const slow = { entered: deferred(), gate: deferred() }

  app.post('/things', { config: { idempotent: true }, onRequest: auth }, async (_request, reply) => {
    runs.things++
    return reply.code(201).send({ n: runs.things })
  })
  app.post('/other-things', { config: { idempotent: true }, onRequest: auth }, async (_request, reply) => {
    return reply.code(201).send({ other: true })
  })
  app.post('/slow', { config: { idempotent: true }, onRequest: auth }, async (_request, reply) => {
    runs.slow++
    slow.entered.resolve()
    await slow.gate.promise
    return reply.code(201).send({ slow: runs.slow })
  })
  app.post('/flaky', { config: { idempotent: true }, onRequest: auth }, async (_request, reply) => {
    runs.flaky++
    if (runs.flaky === 1) throw new Error('database went away mid-request')
    return reply.code(201).send({ attempt: runs.flaky })
  })
  app.post('/validated', {
    config: { idempotent: true },
    onRequest: auth,
    schema: { body: Type.Object({ name: Type.String({ minLength: 1 }) }) },
  }, async (request, reply) => {
    runs.validated++
    return reply.code(201).send({ name: request.body.name })
  })
  return { app, runs, slow }
}

async function apiKey (app: App, tenant = uniqueName('t')) {
  return (await app.deps.apiKeys.create({ tenant, scopes: ['campaigns.write'] })).key
}

function post (app: App, url: string, key: string, idempotencyKey: string | undefined, body: unknown) {
  return app.inject({
    method: 'POST',
    url,
    headers: {
      'x-api-key': key,
      'content-type': 'application/json',
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

async function storedRows (app: App, idempotencyKey: string): Promise<number> {
  const { rows } = await app.deps.pool.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [idempotencyKey])
  return rows.length
}

t.test('same key and body: the stored answer is replayed and the handler runs once', async (t) => {
  const { app, runs } = await harness(t)
  const key = await apiKey(app)
  const idem = uniqueName('idem')

  const first = await post(app, '/things', key, idem, '{"a":1,"b":{"c":2,"d":[1,2]}}')
  t.equal(first.statusCode, 201)
  t.same(first.json(), { n: 1 })
  t.notOk(first.headers['idempotent-replayed'], 'the original answer is not marked as a replay')

  const again = await post(app, '/things', key, idem, '{"a":1,"b":{"c":2,"d":[1,2]}}')
  t.equal(again.statusCode, 201, 'the stored status')
  t.equal(again.body, first.body, 'the stored body, byte for byte')
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.match(again.headers['content-type'], /^application\/json/)

  const reordered = await post(app, '/things', key, idem, '{"b":{"d":[1,2],"c":2},"a":1}')
  t.equal(reordered.statusCode, 201, 'keys in another order are the same request')
  t.equal(reordered.body, first.body)
  t.equal(reordered.headers['idempotent-replayed'], 'true')

  t.equal(runs.things, 1, 'the handler ran once')
})

t.test('same key with a different body or route is refused with 422 IDEMPOTENCY_KEY_REUSED', async (t) => {
  const { app, runs } = await harness(t)
  const key = await apiKey(app)
  const idem = uniqueName('idem')
  t.equal((await post(app, '/things', key, idem, { amount: 10 })).statusCode, 201)

  const changed = await post(app, '/things', key, idem, { amount: 11 })
  t.equal(changed.statusCode, 422)
  t.match(changed.json(), { success: false, code: 'IDEMPOTENCY_KEY_REUSED', error: String, timestamp: String, version: String })
  t.notOk(changed.headers['idempotent-replayed'])

  const elsewhere = await post(app, '/other-things', key, idem, { amount: 10 })
  t.equal(elsewhere.statusCode, 422, 'the same key on another route is a reuse too')
  t.equal(elsewhere.json().code, 'IDEMPOTENCY_KEY_REUSED')

  const original = await post(app, '/things', key, idem, { amount: 10 })
  t.equal(original.statusCode, 201, 'the original request still replays')
  t.equal(original.headers['idempotent-replayed'], 'true')
  t.equal(runs.things, 1)
})

t.test('a key still in progress answers 409 IDEMPOTENCY_KEY_IN_PROGRESS', async (t) => {
  const { app, runs, slow } = await harness(t)
  const key = await apiKey(app)
  const idem = uniqueName('idem')

  const firstPending = post(app, '/slow', key, idem, { x: 1 })
  await slow.entered.promise

  const concurrent = await post(app, '/slow', key, idem, { x: 1 })
  t.equal(concurrent.statusCode, 409)
  t.match(concurrent.json(), { success: false, code: 'IDEMPOTENCY_KEY_IN_PROGRESS' })
  const different = await post(app, '/slow', key, idem, { x: 2 })
  t.equal(different.statusCode, 422, 'a different body is a reuse even while the first runs')

  slow.gate.resolve()
  const first = await firstPending
  t.equal(first.statusCode, 201)
  t.same(first.json(), { slow: 1 })

  const after = await post(app, '/slow', key, idem, { x: 1 })
  t.equal(after.statusCode, 201)
  t.equal(after.headers['idempotent-replayed'], 'true')
  t.equal(after.body, first.body)
  t.equal(runs.slow, 1, 'the handler ran once')
})

t.test('concurrent identical requests run the handler once', async (t) => {
  const { app, runs } = await harness(t)
  const key = await apiKey(app)
  const idem = uniqueName('idem')
  const answers = await Promise.all(Array.from({ length: 8 }, () => post(app, '/things', key, idem, { burst: true })))
  t.equal(runs.things, 1, 'one handler run')
  t.ok(answers.every(a => a.statusCode === 201 || a.statusCode === 409), `201 or 409 only: ${answers.map(a => a.statusCode).join(',')}`)
  const served = answers.filter(a => a.statusCode === 201)
  t.equal(served.filter(a => a.headers['idempotent-replayed'] !== 'true').length, 1, 'exactly one original answer')
  t.ok(served.every(a => a.body === '{"n":1}'), 'every 201 carries the one stored body')
})

t.test('a 500 releases the key so the retry runs the handler again', async (t) => {
  const { app, runs } = await harness(t)
  const key = await apiKey(app)
  const idem = uniqueName('idem')

  const failed = await post(app, '/flaky', key, idem, { to: 'a@example.com' })
  t.equal(failed.statusCode, 500)
  t.equal(failed.json().code, 'INTERNAL_ERROR')
  t.equal(await storedRows(app, idem), 0, 'no record is kept for our own failure')

  const retry = await post(app, '/flaky', key, idem, { to: 'a@example.com' })
  t.equal(retry.statusCode, 201, 'the retry runs')
  t.same(retry.json(), { attempt: 2 })
  t.notOk(retry.headers['idempotent-replayed'])

  const replay = await post(app, '/flaky', key, idem, { to: 'a@example.com' })
  t.equal(replay.headers['idempotent-replayed'], 'true', 'the success is what gets replayed')
  t.same(replay.json(), { attempt: 2 })
  t.equal(runs.flaky, 2)
})

t.test('a body that fails validation claims nothing', async (t) => {
  const { app, runs } = await harness(t)
  const key = await apiKey(app)
  const idem = uniqueName('idem')
  const bad = await post(app, '/validated', key, idem, { name: '' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'VALIDATION_ERROR')
  t.equal(await storedRows(app, idem), 0)
  const good = await post(app, '/validated', key, idem, { name: 'fixed' })
  t.equal(good.statusCode, 201, 'the corrected request with the same key is not a reuse')
  t.same(good.json(), { name: 'fixed' })
  t.equal(runs.validated, 1)
})

t.test('without the header the handler runs every time', async (t) => {
  const { app, runs } = await harness(t)
  const key = await apiKey(app)
  const a = await post(app, '/things', key, undefined, { same: true })
  const b = await post(app, '/things', key, undefined, { same: true })
  t.same(a.json(), { n: 1 })
  t.same(b.json(), { n: 2 })
  t.notOk(b.headers['idempotent-replayed'])
  t.equal(runs.things, 2)
})

t.test('an invalid Idempotency-Key is a 400', async (t) => {
  const { app, runs } = await harness(t)
  const key = await apiKey(app)
  for (const [label, idem] of [['300 characters', 'k'.repeat(300)], ['a space', 'has space'], ['non-ASCII', 'clé-1']] as const) {
    const res = await post(app, '/things', key, idem, { a: 1 })
    t.equal(res.statusCode, 400, label)
    t.match(res.json(), { success: false, code: 'VALIDATION_ERROR', error: /Idempotency-Key/ })
  }
  const longest = await post(app, '/things', key, 'k'.repeat(255), { a: 1 })
  t.equal(longest.statusCode, 201, '255 characters is allowed')
  t.equal(runs.things, 1)
})

t.test("two tenants using the same key string do not see each other's answers", async (t) => {
  const { app, runs } = await harness(t)
  const keyA = await apiKey(app)
  const keyB = await apiKey(app)
  const idem = uniqueName('shared')

  const a = await post(app, '/things', keyA, idem, { who: 'a' })
  const b = await post(app, '/things', keyB, idem, { who: 'b' })
  t.same(a.json(), { n: 1 })
  t.equal(b.statusCode, 201, 'no 422 across tenants')
  t.same(b.json(), { n: 2 }, "tenant B's request ran")
  t.notOk(b.headers['idempotent-replayed'])

  const sameBody = await post(app, '/things', keyB, uniqueName('other'), { who: 'a' })
  t.same(sameBody.json(), { n: 3 })
  const replayA = await post(app, '/things', keyA, idem, { who: 'a' })
  const replayB = await post(app, '/things', keyB, idem, { who: 'b' })
  t.same(replayA.json(), { n: 1 }, 'A replays its own answer')
  t.same(replayB.json(), { n: 2 }, 'B replays its own answer')
  t.equal(runs.things, 3)
})

t.test('expired keys are taken over, and the maintenance job purges them', async (t) => {
  const { app, runs } = await harness(t)
  const key = await apiKey(app)
  const pool = app.deps.pool

  const reused = uniqueName('idem')
  t.equal((await post(app, '/things', key, reused, { v: 1 })).statusCode, 201)
  await pool.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 minute' WHERE key = $1", [reused])
  const fresh = await post(app, '/things', key, reused, { v: 2 })
  t.equal(fresh.statusCode, 201, 'an expired key is free again, even with another body')
  t.notOk(fresh.headers['idempotent-replayed'])
  t.same(fresh.json(), { n: 2 })

  const expired = [uniqueName('old'), uniqueName('old'), uniqueName('old')]
  const kept = uniqueName('live')
  for (const idem of [...expired, kept]) t.equal((await post(app, '/things', key, idem, { idem })).statusCode, 201)
  const update = await pool.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 hour' WHERE key = ANY($1)", [expired])
  t.equal(update.rowCount, 3)

  const process = createMaintenanceProcessor(app.deps)
  const result = await process({ name: 'purge-idempotency-keys' } as Job)
  t.same(result, { purged: 3 })
  const { rows } = await pool.query<{ key: string }>('SELECT key FROM idempotency_keys WHERE key = ANY($1)', [[...expired, kept, reused]])
  t.same(rows.map(r => r.key).sort(), [kept, reused].sort(), 'only the expired rows are gone')
  t.same(await process({ name: 'purge-idempotency-keys' } as Job), { purged: 0 }, 'a second run finds nothing')
  await t.rejects(process({ name: 'something-else' } as Job), /unknown maintenance job/)

  const afterPurge = await post(app, '/things', key, expired[0], { other: 'body' })
  t.equal(afterPurge.statusCode, 201, 'a purged key can be used again')
  t.equal(runs.things, 7)
})
