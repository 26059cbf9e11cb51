// The CSV import over a real socket: a chunked body over the limit gets its 413, a client that hangs up leaves nothing.
import { readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { build } from '../helpers/build.ts'

t.test('import over the wire', async (t) => {
  const app = await build(t, { config: { CONTACTS_IMPORT_MAX_BYTES: 64 * 1024 } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const { key } = await app.deps.apiKeys.create({ tenant: 'wire', scopes: ['contacts.write'] })
  const tenantId = (await app.deps.principals.tenantByName('wire')).id
  const countContacts = async () => (await app.deps.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts WHERE tenant_id = $1', [tenantId])).rows[0]?.n

  function upload () {
    return request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/v1/contacts/import',
      headers: { 'x-api-key': key, 'content-type': 'text/csv; charset=utf-8', 'transfer-encoding': 'chunked' },
    })
  }

  t.test('a chunked body over CONTACTS_IMPORT_MAX_BYTES is answered 413 on the same connection', async (t) => {
    const req = upload()
    const answer = new Promise<{ status: number, body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => { body += chunk })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
    })
    req.write('email\n')
    // 20,000 rows is about 400 KB, well past the 64 KB limit; write until the server answers.
    let i = 0
    const progress = { answered: false }
    req.once('response', () => { progress.answered = true })
    req.once('error', () => { progress.answered = true })
    while (!progress.answered && i < 20_000) {
      let chunk = ''
      for (const end = i + 500; i < end; i++) chunk += `wire${i}@example.com\n`
      if (!req.write(chunk)) await new Promise(resolve => setTimeout(resolve, 5))
    }
    req.end()
    const { status, body } = await answer
    t.equal(status, 413)
    t.match(JSON.parse(body), { success: false, code: 'PAYLOAD_TOO_LARGE', error: 'CSV import is larger than 65536 bytes' })
    t.equal(await countContacts(), 0, 'nothing was written')
  })

  t.test('a client that hangs up mid-upload leaves no rows and no open transaction', async (t) => {
    const req = upload()
    req.on('error', () => {})
    let chunk = 'email\n'
    for (let i = 0; i < 2000; i++) chunk += `gone${i}@example.com\n`
    req.write(chunk)
    const inTransaction = async () => (await app.deps.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()`)).rows[0]?.n ?? 0
    // The upload is spooled before any connection is taken: while the client is still sending, no transaction is open.
    const spooled = async () => (await readdir(tmpdir())).some(name => name.startsWith('outreach-import-'))
    const spooledBy = Date.now() + 30_000
    while (!await spooled() && Date.now() < spooledBy) await new Promise(resolve => setTimeout(resolve, 10))
    await new Promise(resolve => setTimeout(resolve, 200))
    t.equal(await inTransaction(), 0, 'no transaction is open while the body is still arriving')
    req.destroy()
    let open = 1
    const endedBy = Date.now() + 30_000
    while ((open = await inTransaction()) > 0 && Date.now() < endedBy) await new Promise(resolve => setTimeout(resolve, 10))
    t.equal(open, 0, 'the transaction ended')
    t.equal(await countContacts(), 0, 'the rows seen before the hang-up were rolled back')

    const again = await app.inject({
      method: 'POST', url: '/api/v1/contacts/import', headers: { 'x-api-key': key, 'content-type': 'text/csv' }, payload: 'email\nback@example.com\n',
    })
    t.same(again.json(), { imported: 1, updated: 0, skipped: 0, errors: [] }, 'the service goes on importing')
  })
})
