// POST /api/v1/contacts/import: streamed CSV, per-row errors with line numbers, batches, limits, one transaction.
import { PassThrough, Readable } from 'node:stream'
import t from 'tap'
import { build } from '../helpers/build.ts'
import { assertError, caller } from '../helpers/api.ts'

const CSV = { 'content-type': 'text/csv' }

t.test('contacts import', async (t) => {
  const app = await build(t, { config: { CONTACTS_IMPORT_MAX_BYTES: 50 * 1024 * 1024 } })
  const scopes = ['contacts.read', 'contacts.write'] as const

  t.test('a file with bad rows: each reported with its line, the rest imported', async (t) => {
    const c = await caller(app, [...scopes])
    const existing = (await c.request('POST', '/api/v1/contacts', { email: 'old@example.com', first_name: 'Old', company: 'Kept', status: 'unsubscribed' })).json()
    const csv = [
      '\uFEFFEmail,First Name,last_name,Company,Plan,__proto__',
      'ann@example.com,Ann,Lee,Acme,pro,polluted',
      'not-an-email,Bad,Row,,',
      '',
      'OLD@example.com,Olga,,,basic',
      ',No,Email,,',
      'ann@example.com,Ann,Again,,',
      '"multi@example.com","Multi","Line\nName",Acme,',
      'status@example.com,S,T,U,V',
    ].join('\n') + '\n'
    const res = await c.request('POST', '/api/v1/contacts/import', csv, CSV)
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      imported: 3,
      updated: 1,
      skipped: 3,
      errors: [
        { row: 3, email: 'not-an-email', message: 'Invalid email address' },
        { row: 6, email: null, message: 'Missing email' },
        { row: 7, email: 'ann@example.com', message: 'Duplicate email in the file; its first row was used' },
      ],
    })

    const list = (await c.request('GET', '/api/v1/contacts?limit=10')).json()
    const byEmail = Object.fromEntries(list.contacts.map((x: { email: string }) => [x.email, x]))
    t.same(Object.keys(byEmail).sort(), ['ann@example.com', 'multi@example.com', 'old@example.com', 'status@example.com'])
    t.match(byEmail['ann@example.com'], { first_name: 'Ann', last_name: 'Lee', company: 'Acme', status: 'subscribed' })
    t.same(Object.entries(byEmail['ann@example.com'].attributes), [['Plan', 'pro'], ['__proto__', 'polluted']], 'other columns are attributes, whatever their name')
    t.equal(({} as Record<string, unknown>).polluted, undefined)
    t.match(byEmail['multi@example.com'], { last_name: 'Line\nName' })
    t.match(byEmail['old@example.com'], {
      id: existing.id, first_name: 'Olga', company: 'Kept', status: 'unsubscribed', attributes: { Plan: 'basic' },
    }, 'an existing contact takes the non-empty cells and keeps its status')
  })

  t.test('duplicates across batches are caught too', async (t) => {
    const c = await caller(app, [...scopes])
    const rows = ['email,first_name']
    for (let i = 0; i < 2500; i++) rows.push(`user${i}@example.com,First${i}`)
    rows.push('USER5@example.com,Later')
    const res = await c.request('POST', '/api/v1/contacts/import', rows.join('\r\n'), CSV)
    t.same(res.json(), {
      imported: 2500,
      updated: 0,
      skipped: 1,
      errors: [{ row: 2502, email: 'user5@example.com', message: 'Duplicate email in the file; its first row was used' }],
    })
    const user5 = (await c.request('GET', '/api/v1/contacts?q=user5@')).json().contacts[0]
    t.equal(user5.first_name, 'First5', 'the first row wins')
  })

  t.test('status column, other delimiters, unreadable rows', async (t) => {
    const c = await caller(app, [...scopes])
    const csv = 'email;status\nb@example.com;Bounced\nc@example.com;maybe\nd@example.com;\n'
    const res = await c.request('POST', '/api/v1/contacts/import?delimiter=%3B', csv, CSV)
    t.same(res.json(), {
      imported: 2,
      updated: 0,
      skipped: 1,
      errors: [{ row: 3, email: 'c@example.com', message: 'Unknown status "maybe" (subscribed, unsubscribed, bounced, complained)' }],
    })
    const statuses = (await c.request('GET', '/api/v1/contacts')).json().contacts.map((x: { email: string, status: string }) => `${x.email}:${x.status}`)
    t.same(statuses, ['b@example.com:bounced', 'd@example.com:subscribed'])

    const broken = await c.request('POST', '/api/v1/contacts/import', 'email,name\ne@example.com,"bad"quote\n', CSV)
    t.equal(broken.statusCode, 200)
    t.match(broken.json(), { imported: 0, skipped: 1, errors: [{ row: 2, email: null, message: /^Unreadable CSV row: Invalid Closing Quote/ }] })
  })

  t.test('a file the import cannot use is a 4xx and writes nothing', async (t) => {
    const c = await caller(app, [...scopes])
    const noEmail = await c.request('POST', '/api/v1/contacts/import', 'name,company\nAnn,Acme\n', CSV)
    t.equal(assertError(t, noEmail, 400, 'VALIDATION_ERROR'), 'CSV header has no email column (found: name, company)')
    assertError(t, await c.request('POST', '/api/v1/contacts/import', '', CSV), 400, 'VALIDATION_ERROR')
    assertError(t, await c.request('POST', '/api/v1/contacts/import', { email: 'x@example.com' }), 415, 'UNSUPPORTED_MEDIA_TYPE')
    assertError(t, await c.request('POST', '/api/v1/contacts/import?delimiter=x', 'email\n', CSV), 400, 'VALIDATION_ERROR')
    t.equal((await c.request('GET', '/api/v1/contacts')).json().count, 0)
  })

  t.test('over CONTACTS_IMPORT_MAX_BYTES: 413 and nothing written, even without a content-length', async (t) => {
    const small = await build(t, { config: { CONTACTS_IMPORT_MAX_BYTES: 4096 } })
    const c = await caller(small, [...scopes])
    const rows = ['email']
    for (let i = 0; i < 500; i++) rows.push(`big${i}@example.com`)
    const body = rows.join('\n')
    const declared = await c.request('POST', '/api/v1/contacts/import', body, CSV)
    t.equal(assertError(t, declared, 413, 'PAYLOAD_TOO_LARGE'), 'CSV import is larger than 4096 bytes')

    const streamed = await small.inject({
      method: 'POST',
      url: '/api/v1/contacts/import',
      headers: { 'x-api-key': (await small.deps.apiKeys.create({ tenant: c.tenant, scopes: [...scopes] })).key, ...CSV },
      payload: Readable.from([body.slice(0, 3000), body.slice(3000)]),
    })
    assertError(t, streamed, 413, 'PAYLOAD_TOO_LARGE')
    t.equal((await c.request('GET', '/api/v1/contacts')).json().count, 0, 'the first batch was rolled back')
  })

  t.test('100,000 rows streamed', async (t) => {
    const c = await caller(app, [...scopes])
    const rowCount = 100_000
    async function * generate () {
      yield 'email,first_name,last_name,company\n'
      for (let start = 0; start < rowCount; start += 1000) {
        let chunk = ''
        for (let i = start; i < start + 1000; i++) chunk += `person${i}@example.com,First${i},Last${i},Company ${i % 97}\n`
        yield chunk
      }
    }
    const started = Date.now()
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/contacts/import',
      headers: { 'x-api-key': c.key, ...CSV },
      payload: Readable.from(generate()),
    })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { imported: rowCount, updated: 0, skipped: 0, errors: [] })
    t.comment(`imported ${rowCount} rows in ${Date.now() - started} ms`)
    const { rows } = await app.deps.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM contacts c JOIN tenants t ON t.id = c.tenant_id WHERE t.name = $1', [c.tenant])
    t.equal(rows[0]?.n, rowCount)
  })
  t.test('IMPORT_CONCURRENCY_PER_TENANT imports at once per tenant: one more is 429, other tenants go on', async (t) => {
    const limited = await build(t, { config: { IMPORT_CONCURRENCY_PER_TENANT: 2 } })
    const a = await caller(limited, [...scopes])
    const b = await caller(limited, [...scopes])
    const keyOf = async (tenant: string) => (await limited.deps.apiKeys.create({ tenant, scopes: [...scopes] })).key
    const open = [new PassThrough(), new PassThrough()]
    const running = []
    for (const [n, body] of open.entries()) {
      body.write(`email\nslow${n}@example.com\n`)
      running.push(limited.inject({ method: 'POST', url: '/api/v1/contacts/import', headers: { 'x-api-key': await keyOf(a.tenant), ...CSV }, payload: body }))
    }
    // Both slow uploads hold their slot once they are reading their bodies.
    const slots = async () => await limited.deps.redis.zcard(`${limited.deps.config.REDIS_KEY_PREFIX}:contact-imports:${(await limited.deps.principals.tenantByName(a.tenant)).id}`)
    for (let tries = 0; tries < 500 && await slots() < 2; tries++) await new Promise(resolve => setTimeout(resolve, 10))
    t.equal(await slots(), 2, 'two imports of tenant A are running')

    const third = await limited.inject({ method: 'POST', url: '/api/v1/contacts/import', headers: { 'x-api-key': await keyOf(a.tenant), ...CSV }, payload: 'email\nthird@example.com\n' })
    t.match(assertError(t, third, 429, 'RATE_LIMIT_EXCEEDED'), /at most 2 at once/)
    const other = await limited.inject({ method: 'POST', url: '/api/v1/contacts/import', headers: { 'x-api-key': b.key, ...CSV }, payload: 'email\nother@example.com\n' })
    t.same(other.json(), { imported: 1, updated: 0, skipped: 0, errors: [] }, 'another tenant imports meanwhile')

    for (const body of open) body.end()
    for (const res of await Promise.all(running)) t.same(res.json(), { imported: 1, updated: 0, skipped: 0, errors: [] })
    t.equal(await slots(), 0, 'finished imports give their slot back')
    const again = await limited.inject({ method: 'POST', url: '/api/v1/contacts/import', headers: { 'x-api-key': await keyOf(a.tenant), ...CSV }, payload: 'email\nthird@example.com\n' })
    t.same(again.json(), { imported: 1, updated: 0, skipped: 0, errors: [] }, 'tenant A imports again')
  })
})
