// /api/v1/contacts CRUD, pages, search, duplicates, tenants and scopes; seed 003's GET/POST /contacts.
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { build, TEST_JWT_SECRET, TEST_PROJECT_ID, uniqueName } from '../helpers/build.ts'
import { assertError, caller } from '../helpers/api.ts'

const SEED_FIELDS = ['company', 'created_at', 'email', 'email_count', 'first_name', 'last_campaign', 'last_email_sent', 'last_name']

t.test('contacts', async (t) => {
  const app = await build(t)
  const a = await caller(app, ['contacts.read', 'contacts.write'])
  const b = await caller(app, ['contacts.read', 'contacts.write'])

  t.test('create, get, update, delete', async (t) => {
    const created = await a.request('POST', '/api/v1/contacts', {
      email: '  Jane.Doe@Example.COM ', first_name: 'Jane', last_name: 'Doe', company: 'Acme', attributes: { plan: 'pro', seats: 3 },
    })
    t.equal(created.statusCode, 201)
    const contact = created.json()
    t.match(contact, {
      id: /^[0-9a-f-]{36}$/,
      email: 'jane.doe@example.com',
      first_name: 'Jane',
      last_name: 'Doe',
      company: 'Acme',
      status: 'subscribed',
      attributes: { plan: 'pro', seats: 3 },
      last_email_sent: null,
      last_campaign: null,
      email_count: 0,
    })
    t.ok(Date.parse(contact.created_at) > 0)

    t.same((await a.request('GET', `/api/v1/contacts/${contact.id}`)).json(), contact)

    const patched = await a.request('PATCH', `/api/v1/contacts/${contact.id}`, { status: 'unsubscribed', company: null, first_name: 'Janet' })
    t.equal(patched.statusCode, 200)
    t.match(patched.json(), { id: contact.id, status: 'unsubscribed', company: null, first_name: 'Janet', last_name: 'Doe', email: 'jane.doe@example.com' })

    const renamed = await a.request('PATCH', `/api/v1/contacts/${contact.id}`, { email: 'JANET@example.com' })
    t.equal(renamed.json().email, 'janet@example.com')

    const removed = await a.request('DELETE', `/api/v1/contacts/${contact.id}`)
    t.equal(removed.statusCode, 204)
    assertError(t, await a.request('GET', `/api/v1/contacts/${contact.id}`), 404, 'NOT_FOUND')
    assertError(t, await a.request('DELETE', `/api/v1/contacts/${contact.id}`), 404, 'NOT_FOUND')
    assertError(t, await a.request('PATCH', `/api/v1/contacts/${contact.id}`, { first_name: 'x' }), 404, 'NOT_FOUND')
  })

  t.test('duplicate emails: 409 on create and on a PATCH that takes an address in use', async (t) => {
    const first = (await a.request('POST', '/api/v1/contacts', { email: 'dup@example.com' })).json()
    const again = await a.request('POST', '/api/v1/contacts', { email: 'DUP@example.com', first_name: 'Other' })
    t.equal(assertError(t, again, 409, 'CONFLICT'), 'A contact with email dup@example.com already exists')
    t.equal((await a.request('GET', `/api/v1/contacts/${first.id}`)).json().first_name, null, 'the stored contact is unchanged')

    const other = (await a.request('POST', '/api/v1/contacts', { email: 'other@example.com' })).json()
    assertError(t, await a.request('PATCH', `/api/v1/contacts/${other.id}`, { email: 'dup@example.com' }), 409, 'CONFLICT')

    const elsewhere = await b.request('POST', '/api/v1/contacts', { email: 'dup@example.com' })
    t.equal(elsewhere.statusCode, 201, 'emails are unique per tenant only')
  })

  t.test('bad input is a clear 4xx', async (t) => {
    t.equal(assertError(t, await a.request('POST', '/api/v1/contacts', { email: 'not-an-email' }), 422, 'INVALID_EMAIL'), 'Invalid email address: not-an-email')
    assertError(t, await a.request('POST', '/api/v1/contacts', { first_name: 'No email' }), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('POST', '/api/v1/contacts', { email: 'a@example.com', status: 'maybe' }), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('GET', '/api/v1/contacts/123'), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('GET', '/api/v1/contacts/00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND')
    assertError(t, await a.request('GET', '/api/v1/contacts?cursor=%%%'), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('GET', '/api/v1/contacts?limit=1001'), 400, 'VALIDATION_ERROR')
    const anyId = (await a.request('POST', '/api/v1/contacts', { email: 'patchme@example.com' })).json().id
    assertError(t, await a.request('PATCH', `/api/v1/contacts/${anyId}`, {}), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('PATCH', `/api/v1/contacts/${anyId}`, { email: 'nope' }), 422, 'INVALID_EMAIL')
  })

  t.test('pages: empty, exact boundary, cursor of a deleted contact', async (t) => {
    const c = await caller(app, ['contacts.read', 'contacts.write'])
    t.same((await c.request('GET', '/api/v1/contacts')).json(), { contacts: [], count: 0, next_cursor: null })

    const emails = ['a1@example.com', 'a2@example.com', 'a3@example.com', 'a4@example.com']
    const ids: Record<string, string> = {}
    for (const email of [...emails].reverse()) ids[email] = (await c.request('POST', '/api/v1/contacts', { email })).json().id

    const exact = (await c.request('GET', '/api/v1/contacts?limit=4')).json()
    t.same(exact.contacts.map((x: { email: string }) => x.email), emails, 'email order')
    t.equal(exact.next_cursor, null, 'a page ending exactly at the last contact has no next cursor')

    const page1 = (await c.request('GET', '/api/v1/contacts?limit=2')).json()
    t.same(page1.contacts.map((x: { email: string }) => x.email), emails.slice(0, 2))
    t.type(page1.next_cursor, 'string')
    t.notMatch(page1.next_cursor, /example/, 'the cursor is opaque')

    await c.request('DELETE', `/api/v1/contacts/${ids['a2@example.com']}`)
    const page2 = (await c.request('GET', `/api/v1/contacts?limit=2&cursor=${page1.next_cursor}`)).json()
    t.same(page2.contacts.map((x: { email: string }) => x.email), emails.slice(2), 'the cursor of a deleted contact still works')
    t.equal(page2.next_cursor, null)
  })

  t.test('search: case-insensitive prefix of email, first or last name; status filter', async (t) => {
    const c = await caller(app, ['contacts.read', 'contacts.write'])
    await c.request('POST', '/api/v1/contacts', { email: 'zoe@example.com', first_name: 'Zoë', last_name: 'Smith' })
    await c.request('POST', '/api/v1/contacts', { email: 'smithers@example.com', first_name: 'Waylon', last_name: 'Burns' })
    await c.request('POST', '/api/v1/contacts', { email: 'adam@example.com', first_name: 'Adam', last_name: 'Smithson', status: 'bounced' })
    await c.request('POST', '/api/v1/contacts', { email: 'under_score@example.com', first_name: '100%', last_name: 'Literal' })
    await c.request('POST', '/api/v1/contacts', { email: 'underxscore@example.com' })
    const search = async (query: string) =>
      (await c.request('GET', `/api/v1/contacts?${query}`)).json().contacts.map((x: { email: string }) => x.email)

    t.same(await search('q=SMITH'), ['adam@example.com', 'smithers@example.com', 'zoe@example.com'])
    t.same(await search('q=zo'), ['zoe@example.com'])
    t.same(await search('q=ZOË'), ['zoe@example.com'], 'non-ASCII names fold too')
    t.same(await search('q=smith&status=bounced'), ['adam@example.com'])
    t.same(await search('q=smith&limit=1'), ['adam@example.com'])
    t.same(await search('q=under_'), ['under_score@example.com'], '_ is literal, not a wildcard')
    t.same(await search('q=100%25'), ['under_score@example.com'], '% is literal')
    t.same(await search('q=mith'), [], 'prefix, not substring')

    const page1 = (await c.request('GET', '/api/v1/contacts?q=smith&limit=2')).json()
    const page2 = (await c.request('GET', `/api/v1/contacts?q=smith&limit=2&cursor=${page1.next_cursor}`)).json()
    t.same(page2.contacts.map((x: { email: string }) => x.email), ['zoe@example.com'], 'search pages with the cursor')
  })

  t.test('the search is index-backed', async (t) => {
    const client = await app.deps.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query('SET LOCAL enable_seqscan = off')
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT * FROM contacts WHERE tenant_id = gen_random_uuid()
           AND (email LIKE 'smi%' OR lower(first_name) LIKE 'smi%' OR lower(last_name) LIKE 'smi%')
         ORDER BY email LIMIT 50`)
      const plan = rows.map(r => r['QUERY PLAN']).join('\n')
      t.match(plan, /contacts_tenant_email_key|contacts_tenant_subscribed_idx/)
      t.match(plan, /contacts_tenant_first_name_idx/)
      t.match(plan, /contacts_tenant_last_name_idx/)
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
  })

  t.test('tenant B cannot read, change or delete tenant A\'s contacts', async (t) => {
    const mine = (await a.request('POST', '/api/v1/contacts', { email: 'private@example.com', first_name: 'Private' })).json()
    assertError(t, await b.request('GET', `/api/v1/contacts/${mine.id}`), 404, 'NOT_FOUND')
    assertError(t, await b.request('PATCH', `/api/v1/contacts/${mine.id}`, { first_name: 'Stolen' }), 404, 'NOT_FOUND')
    assertError(t, await b.request('DELETE', `/api/v1/contacts/${mine.id}`), 404, 'NOT_FOUND')
    const listed = (await b.request('GET', '/api/v1/contacts?q=private')).json()
    t.equal(listed.count, 0)
    const seed = (await b.request('GET', '/contacts')).json()
    t.notOk(seed.contacts.some((x: { email: string }) => x.email === 'private@example.com'))
    // Seed 003's listing takes no q: a repeated one (an array after coercion) is ignored, not a 500.
    const ignored = await b.request('GET', '/contacts?q=1&q=2')
    t.equal(ignored.statusCode, 200)
    t.same(ignored.json().contacts, seed.contacts, 'the same listing as without q')
    t.equal((await a.request('GET', `/api/v1/contacts/${mine.id}`)).json().first_name, 'Private', 'untouched')
  })

  t.test('scopes', async (t) => {
    const readOnly = await caller(app, ['contacts.read'], a.tenant)
    assertError(t, await readOnly.request('POST', '/api/v1/contacts', { email: 'x@example.com' }), 403, 'INSUFFICIENT_PERMISSIONS')
    assertError(t, await readOnly.request('POST', '/contacts', { email: 'x@example.com' }), 403, 'INSUFFICIENT_PERMISSIONS')
    const anyId = (await a.request('POST', '/api/v1/contacts', { email: 'scoped@example.com' })).json().id
    assertError(t, await readOnly.request('DELETE', `/api/v1/contacts/${anyId}`), 403, 'INSUFFICIENT_PERMISSIONS')
    assertError(t, await readOnly.request('POST', '/api/v1/contacts/import', 'email\nx@example.com\n', { 'content-type': 'text/csv' }), 403, 'INSUFFICIENT_PERMISSIONS')
    t.equal((await readOnly.request('GET', '/api/v1/contacts')).statusCode, 200)
    t.equal((await readOnly.request('GET', '/contacts')).statusCode, 200)
    const templatesOnly = await caller(app, ['templates.read'])
    assertError(t, await templatesOnly.request('GET', '/contacts'), 403, 'INSUFFICIENT_PERMISSIONS')
    assertError(t, await app.inject({ method: 'GET', url: '/contacts' }), 401, 'INVALID_API_KEY')
  })
})

t.test('Idempotency-Key on POST /api/v1/contacts replays the first answer', async (t) => {
  const app = await build(t)
  const c = await caller(app, ['contacts.read', 'contacts.write'])
  const headers = { 'idempotency-key': 'create-ann-1' }
  const first = await c.request('POST', '/api/v1/contacts', { email: 'ann@example.com' }, headers)
  const second = await c.request('POST', '/api/v1/contacts', { email: 'ann@example.com' }, headers)
  t.equal(first.statusCode, 201)
  t.equal(second.statusCode, 201, 'a retry is not a 409')
  t.equal(second.headers['idempotent-replayed'], 'true')
  t.same(second.json(), first.json())
})

t.test('/api/v1/contacts takes a Bearer token whose scope claim holds the scope (seed 002 OAuth2)', async (t) => {
  const app = await build(t)
  const now = Math.floor(Date.now() / 1000)
  const tenant = uniqueName('oauth')
  const sign = (scope: string) => createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256' })({
    iss: `https://securetoken.google.com/${TEST_PROJECT_ID}`, aud: TEST_PROJECT_ID, sub: 'client-1', iat: now, exp: now + 600, scope, tenant,
  })
  const created = await app.inject({
    method: 'POST', url: '/api/v1/contacts', headers: { authorization: `Bearer ${sign('contacts.write')}` }, payload: { email: 'o@example.com' },
  })
  t.equal(created.statusCode, 201)
  const listed = await app.inject({ method: 'GET', url: '/api/v1/contacts', headers: { authorization: `Bearer ${sign('contacts.read')}` } })
  t.same(listed.json().contacts.map((x: { email: string }) => x.email), ['o@example.com'], 'in the tenant the token names')
  const denied = await app.inject({ method: 'GET', url: '/api/v1/contacts', headers: { authorization: `Bearer ${sign('contacts.write')}` } })
  assertError(t, denied, 403, 'INSUFFICIENT_PERMISSIONS')
  const seedRoute = await app.inject({ method: 'GET', url: '/contacts', headers: { authorization: `Bearer ${sign('contacts.read')}` } })
  assertError(t, seedRoute, 401, 'INVALID_API_KEY')
})

t.test('seed 003 GET/POST /contacts', async (t) => {
  const app = await build(t)
  const c = await caller(app, ['contacts.read', 'contacts.write'])

  const added = await c.request('POST', '/contacts', { email: 'John@Example.com', first_name: 'John', last_name: 'Doe', company: 'Acme' })
  t.equal(added.statusCode, 201)
  const body = added.json()
  t.equal(body.message, 'Contact added')
  t.same(Object.keys(body.contact).sort(), SEED_FIELDS, 'exactly the EmailContacts fields')
  t.match(body.contact, { email: 'john@example.com', first_name: 'John', last_name: 'Doe', company: 'Acme', last_email_sent: null, last_campaign: null, email_count: 0 })

  const bare = (await c.request('POST', '/contacts', { email: 'bare@example.com' })).json()
  t.match(bare.contact, { first_name: '', last_name: '', company: '' }, 'missing names are empty strings')

  // A contact that unsubscribed and was mailed once: re-adding it through seed 003's form keeps both.
  const { rows } = await app.deps.pool.query<{ id: string, tenant_id: string }>('SELECT id, tenant_id FROM contacts WHERE email = $1', ['john@example.com'])
  const john = rows[0]!
  await app.deps.contacts.setStatus(john.tenant_id, 'john@example.com', 'unsubscribed')
  await app.deps.contacts.recordSend(john.tenant_id, { emails: ['john@example.com'], campaign: 'Welcome Campaign', sentAt: new Date('2024-01-01T12:05:00Z') })

  const put = await c.request('POST', '/contacts', { email: 'john@example.com', first_name: 'Johnny', company: 'Acme Inc' })
  t.equal(put.statusCode, 200, 'an existing email is overwritten, like a DynamoDB put')
  t.equal(put.json().message, 'Contact updated')
  t.match(put.json().contact, {
    first_name: 'Johnny', last_name: '', company: 'Acme Inc', last_email_sent: '2024-01-01T12:05:00.000Z', last_campaign: 'Welcome Campaign', email_count: 1,
  })
  const status = await app.deps.pool.query('SELECT status FROM contacts WHERE id = $1', [john.id])
  t.equal(status.rows[0].status, 'unsubscribed', 'the put does not resubscribe')

  assertError(t, await c.request('POST', '/contacts', { email: 'bad email' }), 422, 'INVALID_EMAIL')
  assertError(t, await c.request('POST', '/contacts', {}), 400, 'VALIDATION_ERROR')

  const all = await c.request('GET', '/contacts')
  t.equal(all.statusCode, 200)
  const list = all.json()
  t.equal(list.count, 2)
  t.equal(list.next_cursor, null)
  t.same(list.contacts.map((x: { email: string }) => x.email), ['bare@example.com', 'john@example.com'])
  for (const contact of list.contacts) t.same(Object.keys(contact).sort(), SEED_FIELDS)

  const paged = (await c.request('GET', '/contacts?limit=1')).json()
  t.equal(paged.count, 1)
  const rest = (await c.request('GET', `/contacts?limit=1&cursor=${paged.next_cursor}`)).json()
  t.same(rest.contacts.map((x: { email: string }) => x.email), ['john@example.com'])
})
