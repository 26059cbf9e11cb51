// /api/v1/suppressions: list with search and pages, manual add, remove, bad input, scopes and tenant isolation.
import t from 'tap'
import { build } from '../helpers/build.ts'
import { assertError, caller } from '../helpers/api.ts'

t.test('suppressions', async (t) => {
  const app = await build(t)
  const a = await caller(app, ['suppressions.read', 'suppressions.write'])
  const b = await caller(app, ['suppressions.read', 'suppressions.write'])
  const tenantA = (await app.deps.principals.tenantByName(a.tenant)).id

  t.test('manual add, list, search, remove', async (t) => {
    const added = await a.request('POST', '/api/v1/suppressions', { email: '  Manual.One@Example.COM ' })
    t.equal(added.statusCode, 201)
    const entry = added.json()
    t.match(entry, { email: 'manual.one@example.com', reason: 'manual', sourceEventId: null })
    t.ok(Date.parse(entry.created) > 0)

    const carried = await a.request('POST', '/api/v1/suppressions', { email: 'old-bounce@example.com', reason: 'bounce' })
    t.equal(carried.statusCode, 201)
    t.equal(carried.json().reason, 'bounce')

    // What the Mailgun ingest writes: a provider-event row appears in the same list with its event id.
    await app.deps.pool.query(
      "INSERT INTO suppressions (tenant_id, email, reason, source_event_id) VALUES ($1, 'complainer@example.com', 'complaint', 'evt-1')", [tenantA])

    const all = (await a.request('GET', '/api/v1/suppressions')).json()
    t.same(all.data.map((s: { email: string }) => s.email), ['complainer@example.com', 'manual.one@example.com', 'old-bounce@example.com'])
    t.equal(all.nextCursor, null)
    t.match(all.data[0], { reason: 'complaint', sourceEventId: 'evt-1' })

    const searched = (await a.request('GET', '/api/v1/suppressions?search=MANUAL')).json()
    t.same(searched.data.map((s: { email: string }) => s.email), ['manual.one@example.com'])
    const byReason = (await a.request('GET', '/api/v1/suppressions?reason=bounce')).json()
    t.same(byReason.data.map((s: { email: string }) => s.email), ['old-bounce@example.com'])
    // LIKE wildcards in the search are literal characters.
    t.same((await a.request('GET', '/api/v1/suppressions?search=%25')).json().data, [])

    t.equal((await b.request('GET', '/api/v1/suppressions')).json().data.length, 0, 'another tenant sees none of them')
    assertError(t, await b.request('DELETE', '/api/v1/suppressions/manual.one%40example.com'), 404, 'NOT_FOUND')

    const removed = await a.request('DELETE', '/api/v1/suppressions/Manual.One%40example.com')
    t.equal(removed.statusCode, 204)
    assertError(t, await a.request('DELETE', '/api/v1/suppressions/manual.one%40example.com'), 404, 'NOT_FOUND')
    t.same((await a.request('GET', '/api/v1/suppressions?search=manual')).json().data, [])
  })

  t.test('pages follow the cursor without gaps or repeats', async (t) => {
    const c = await caller(app, ['suppressions.read', 'suppressions.write'])
    const emails = Array.from({ length: 7 }, (_, i) => `page-${i}@example.com`)
    for (const email of emails) t.equal((await c.request('POST', '/api/v1/suppressions', { email })).statusCode, 201)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await c.request('GET', `/api/v1/suppressions?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      t.equal(res.statusCode, 200)
      const page = res.json() as { data: Array<{ email: string }>, nextCursor: string | null }
      t.ok(page.data.length <= 3)
      seen.push(...page.data.map(s => s.email))
      cursor = page.nextCursor
    } while (cursor)
    t.same(seen, emails)
    assertError(t, await c.request('GET', '/api/v1/suppressions?cursor=not-a-cursor'), 400, 'VALIDATION_ERROR')
  })

  t.test('bad input', async (t) => {
    t.match(assertError(t, await a.request('POST', '/api/v1/suppressions', { email: 'not-an-email' }), 422, 'INVALID_EMAIL'), /not-an-email/)
    assertError(t, await a.request('POST', '/api/v1/suppressions', {}), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('POST', '/api/v1/suppressions', { email: 'x@example.com', reason: 'because' }), 400, 'VALIDATION_ERROR')
    assertError(t, await a.request('GET', '/api/v1/suppressions?limit=0'), 400, 'VALIDATION_ERROR')

    t.equal((await a.request('POST', '/api/v1/suppressions', { email: 'twice@example.com', reason: 'unsubscribe' })).statusCode, 201)
    t.match(assertError(t, await a.request('POST', '/api/v1/suppressions', { email: 'TWICE@example.com' }), 409, 'CONFLICT'), /unsubscribe/)
    const kept = (await a.request('GET', '/api/v1/suppressions?search=twice')).json().data
    t.match(kept, [{ email: 'twice@example.com', reason: 'unsubscribe' }], 'the first entry and its reason are kept')
  })

  t.test('scopes', async (t) => {
    const reader = await caller(app, ['suppressions.read'], a.tenant)
    t.equal((await reader.request('GET', '/api/v1/suppressions')).statusCode, 200)
    assertError(t, await reader.request('POST', '/api/v1/suppressions', { email: 'y@example.com' }), 403, 'INSUFFICIENT_PERMISSIONS')
    assertError(t, await reader.request('DELETE', '/api/v1/suppressions/y%40example.com'), 403, 'INSUFFICIENT_PERMISSIONS')
    const contactsOnly = await caller(app, ['contacts.read', 'contacts.write'], a.tenant)
    assertError(t, await contactsOnly.request('GET', '/api/v1/suppressions'), 403, 'INSUFFICIENT_PERMISSIONS')
    const res = await app.inject({ method: 'GET', url: '/api/v1/suppressions', headers: { 'x-api-key': 'sk_live_nope' } })
    assertError(t, res, 401, 'INVALID_API_KEY')
  })
})
