// JSON bodies are refused for nesting depth before they are parsed; everything Fastify's own parser refused stays refused.
import t from 'tap'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../src/plugins/json-depth.ts'
import { build } from '../helpers/build.ts'

const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth)

t.test('exceedsJsonDepth counts arrays and objects, not brackets inside strings', async (t) => {
  t.equal(exceedsJsonDepth('{}'), false)
  t.equal(exceedsJsonDepth(nested(MAX_JSON_DEPTH)), false, `${MAX_JSON_DEPTH} levels are allowed`)
  t.equal(exceedsJsonDepth(nested(MAX_JSON_DEPTH + 1)), true, `${MAX_JSON_DEPTH + 1} are not`)
  t.equal(exceedsJsonDepth('{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1)), true, 'objects count as arrays do')
  t.equal(exceedsJsonDepth('[' + nested(40) + ',' + nested(40) + ']'), false, 'siblings do not add up')
  t.equal(exceedsJsonDepth(JSON.stringify({ text: '['.repeat(1000) })), false, 'brackets inside a string do not count')
  t.equal(exceedsJsonDepth(JSON.stringify({ text: '"[[[' + '\\'.repeat(3) + '"' + '['.repeat(1000) })), false, 'nor after escaped quotes and backslashes')
  t.equal(exceedsJsonDepth(JSON.stringify(['\\']) + nested(MAX_JSON_DEPTH + 1)), true, 'an escaped backslash closes nothing early')
  t.equal(exceedsJsonDepth('['.repeat(10_000_000)), true, 'an unterminated body is refused too')
  t.equal(exceedsJsonDepth(nested(3), 2), true, 'the limit is a parameter')
})

t.test('every JSON route refuses deep bodies with 400 VALIDATION_ERROR; Fastify\'s own refusals still hold', async (t) => {
  const app = await build(t)
  app.post('/echo', async (request) => ({ body: request.body }))
  const post = (payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': contentType }, payload })

  const deepest = JSON.parse(nested(MAX_JSON_DEPTH)) as unknown
  const ok = await post(nested(MAX_JSON_DEPTH))
  t.equal(ok.statusCode, 200, `${MAX_JSON_DEPTH} levels are parsed`)
  t.same(ok.json().body, deepest)

  for (const contentType of ['application/json', 'application/json; charset=utf-8']) {
    const deep = await post(nested(MAX_JSON_DEPTH + 1), contentType)
    t.equal(deep.statusCode, 400, `${contentType}: one level more is refused`)
    t.match(deep.json(), { success: false, code: 'VALIDATION_ERROR', error: `JSON body nests deeper than ${MAX_JSON_DEPTH} levels`, timestamp: String })
  }

  const poisoned = await post('{"__proto__":{"admin":true}}')
  t.equal(poisoned.statusCode, 400, '__proto__ is still refused')
  t.equal(poisoned.json().code, 'VALIDATION_ERROR')
  const empty = await post('')
  t.equal(empty.statusCode, 400, 'an empty JSON body is still refused')
  const malformed = await post('{"a":')
  t.equal(malformed.statusCode, 400, 'malformed JSON is still refused')
  t.equal(malformed.json().code, 'VALIDATION_ERROR')
})
