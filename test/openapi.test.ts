// openapi.yaml (the committed contract) must equal the document generated from the route schemas.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { build } from './helpers/build.ts'

t.test('openapi.yaml agrees with the served /openapi.json', async (t) => {
  const app = await build(t)
  const committed = parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8'))
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), committed, 'run `npm run openapi` after changing a route schema')
})

t.test('every visible route is documented with a summary and tags', async (t) => {
  const app = await build(t)
  await app.ready()
  const document = app.swagger() as { paths: Record<string, Record<string, { summary?: string, tags?: string[] }>> }
  for (const path of ['/health', '/ready', '/metrics']) t.ok(document.paths[path], `${path} is documented`)
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      t.ok(operation.summary, `${method.toUpperCase()} ${path} has a summary`)
      t.ok(operation.tags?.length, `${method.toUpperCase()} ${path} has tags`)
    }
  }
})
