// fast-check arbitraries from the JSON Schemas (OpenAPI 3.0 flavour) the app publishes, and hostile mutations of them.
// fast-check has no JSON Schema arbitrary: this covers what the route schemas use (object, string with formats and
// patterns, number, integer, boolean, array, enum, const, anyOf/oneOf/allOf, nullable, $ref to components).
import fc from 'fast-check'

export type Schema = Record<string, unknown>

export interface SchemaContext {
  /** components.schemas of the OpenAPI document, for $ref. */
  components: Record<string, Schema>
}

// Lengths and sizes are capped: the point is shapes and edge values, not volume (huge values come from mutations).
const MAX_STRING = 40
const MAX_ITEMS = 4
const MAX_DEPTH = 6

// URLs stay on loopback or IP literals (including SIIT and other embedded-IPv4 forms): nothing resolves a name.
const URLS = [
  'https://127.0.0.1/hook', 'http://127.0.0.1:9/x', 'https://[::1]/x', 'https://[::ffff:0:7f00:1]/x',
  'https://[::ffff:0:a9fe:a9fe]/latest', 'http://169.254.169.254/latest/meta-data', 'https://0x7f.1/', 'https://10.0.0.1/',
  'ftp://127.0.0.1/x', 'javascript:alert(1)', 'https://user:pass@127.0.0.1/', 'https://[::]/', 'http://0/',
]

function resolve (schema: Schema, ctx: SchemaContext): Schema {
  let current = schema
  for (let hops = 0; typeof current.$ref === 'string' && hops < 10; hops++) {
    const name = current.$ref.split('/').pop() ?? ''
    current = ctx.components[name] ?? {}
  }
  return current
}

const num = (value: unknown): number | undefined => typeof value === 'number' ? value : undefined

function stringArbitrary (schema: Schema): fc.Arbitrary<string> {
  const minLength = num(schema.minLength) ?? 0
  const maxLength = Math.max(minLength, Math.min(num(schema.maxLength) ?? MAX_STRING, MAX_STRING))
  switch (schema.format) {
    case 'email': return fc.emailAddress({ size: 'small' })
    case 'uuid': return fc.uuid()
    case 'date-time': return fc.date({ noInvalidDate: true, min: new Date('1970-01-01'), max: new Date('2200-01-01') }).map(d => d.toISOString())
    case 'date': return fc.date({ noInvalidDate: true, min: new Date('1970-01-01'), max: new Date('2200-01-01') }).map(d => d.toISOString().slice(0, 10))
    case 'uri': return fc.constantFrom(...URLS)
  }
  if (typeof schema.pattern === 'string') {
    try {
      // No filter on the lengths: stringMatching makes short strings, and a filter that rarely passes never ends.
      return fc.oneof(fc.stringMatching(new RegExp(schema.pattern), { size: 'small' }), fc.string({ minLength, maxLength }))
    } catch {
      // A pattern fast-check cannot invert: plain strings, which the validator will mostly refuse.
    }
  }
  return fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ minLength, maxLength, unit: 'binary' })
  )
}

/** Values that satisfy the schema's types (not always every constraint: near-misses are useful too). */
export function valueFor (input: Schema, ctx: SchemaContext, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(input, ctx)
  const inner = innerValueFor(schema, ctx, depth)
  return schema.nullable === true ? fc.option(inner, { nil: null, freq: 5 }) : inner
}

function innerValueFor (schema: Schema, ctx: SchemaContext, depth: number): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const)
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...(schema.enum as unknown[]))
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined
  if (Array.isArray(alternatives) && alternatives.length > 0) return fc.oneof(...alternatives.map(s => valueFor(s, ctx, depth)))
  if (Array.isArray(schema.allOf)) {
    const merged: Schema = { type: 'object', properties: {}, required: [] }
    for (const part of schema.allOf as Schema[]) {
      const resolved = resolve(part, ctx)
      Object.assign(merged.properties as Schema, resolved.properties ?? {})
      ;(merged.required as string[]).push(...((resolved.required as string[] | undefined) ?? []))
    }
    return valueFor(merged, ctx, depth)
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'string': return stringArbitrary(schema)
    case 'integer': {
      const min = num(schema.minimum) ?? -1_000_000
      const max = Math.max(min, num(schema.maximum) ?? 1_000_000)
      return fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) })
    }
    case 'number': {
      const min = num(schema.minimum) ?? -1e9
      const max = Math.max(min, num(schema.maximum) ?? 1e9)
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
    }
    case 'boolean': return fc.boolean()
    case 'null': return fc.constant(null)
    case 'array': {
      const minLength = num(schema.minItems) ?? 0
      const maxLength = Math.max(minLength, Math.min(num(schema.maxItems) ?? MAX_ITEMS, MAX_ITEMS))
      if (depth >= MAX_DEPTH) return fc.constant([])
      const items = valueFor((schema.items as Schema | undefined) ?? {}, ctx, depth + 1)
      return schema.uniqueItems === true
        ? fc.uniqueArray(items, { minLength: 0, maxLength, selector: v => JSON.stringify(v) })
        : fc.array(items, { minLength, maxLength })
    }
    case 'object': return objectFor(schema, ctx, depth)
  }
  if (schema.properties) return objectFor(schema, ctx, depth)
  // No type: anything JSON.
  return fc.jsonValue({ maxDepth: 2 })
}

function objectFor (schema: Schema, ctx: SchemaContext, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>
  const required = ((schema.required ?? []) as string[]).filter(name => name in properties)
  if (depth >= MAX_DEPTH) return fc.constant({})
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [name, property] of Object.entries(properties)) model[name] = valueFor(property, ctx, depth + 1)
  const record = fc.record(model, { requiredKeys: required })
  const extra = schema.additionalProperties
  if (extra && typeof extra === 'object' && Object.keys(properties).length === 0) {
    return fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), valueFor(extra as Schema, ctx, depth + 1), { maxKeys: MAX_ITEMS })
  }
  return record
}

/** Strings that have broken something somewhere: injection, template syntax, header splitting, odd Unicode. */
export const HOSTILE_STRINGS: readonly string[] = [
  '\'; DROP TABLE contacts; --', '\' OR \'1\'=\'1', '"; SELECT pg_sleep(30); --', '\\', '\\\'', '$1', '%', '_', '%%',
  '{{#each this}}{{this}}{{/each}}', '{{log "forged line" level="error"}}', '{{log this}}', '{{> missing}}',
  '{{constructor.constructor "return process"}}', '{{lookup this "__proto__"}}', '{{#with (lookup this "constructor")}}x{{/with}}',
  '{{{html}}}', '{{', '}}', '{{#if}}', '%recipient.x%', '%recipient%', '%tag_unsubscribe_url%', '$' + '{7*7}', '#{7*7}', '<%= 7*7 %>',
  'a\r\nBcc: victim@example.com', 'x\r\n\r\n<html>', '\n', '\r', 'x\u0000y', '\u0000', '\uD800', '\uDFFF', '\uFFFE', '\uFEFF',
  '\u202Eevil', '😀'.repeat(50), 'Ω≈ç√', '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '../../../etc/passwd',
  '__proto__', 'constructor', 'prototype', 'toString', 'NaN', 'Infinity', '-0', '1e999', '9'.repeat(400),
  '2024-13-45T99:99:99Z', '0000-00-00T00:00:00Z', 'null', 'true', '[]', '{}', '', ' ', '\t',
  'user@[::ffff:0:7f00:1]', 'a@b', '@', 'a@', '"quoted"@example.com', 'x'.repeat(255) + '@example.com',
  'campaign_not-a-uuid', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
]

/** Wrong types, hostile strings, huge strings and deep nesting: what replaces a field (or the whole body). */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 1, [], {}, [null], { '': '' }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.constantFrom(200_000, 1_000_000).map(n => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 2000 }).map(deepArray) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 2000 }).map(deepObject) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...HOSTILE_STRINGS), { minLength: 1, maxLength: 300 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) }
)

function deepArray (depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

function deepObject (depth: number): unknown {
  let value: unknown = 'leaf'
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

/** Every path into a JSON value (the root is []). */
function paths (value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = [], depth = 0): Array<Array<string | number>> {
  out.push(prefix)
  if (depth > 8 || value === null || typeof value !== 'object') return out
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...prefix, i], out, depth + 1))
  else for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out, depth + 1)
  return out
}

function cloneJson<T> (value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value)) as T
}

export type Mutation = 'replace' | 'delete' | 'add'

/** The value with one place changed: a field replaced by `replacement`, deleted, or an unknown one added. */
export function mutateAt (value: unknown, pick: number, mutation: Mutation, replacement: unknown): unknown {
  const all = paths(value)
  const path = all[pick % all.length] ?? []
  if (path.length === 0) return mutation === 'replace' ? replacement : value
  const copy = cloneJson(value) as Record<string | number, unknown>
  let parent: Record<string | number, unknown> = copy
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  if (mutation === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1)
    else delete parent[last]
  } else if (mutation === 'add' && !Array.isArray(parent)) {
    parent[`unknown_${String(last)}`] = replacement
  } else {
    parent[last] = replacement
  }
  return copy
}

/** A schema-shaped value with one hostile change, or the schema-shaped value itself. */
export function mutatedValueFor (schema: Schema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  const valid = valueFor(schema, ctx)
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    {
      weight: 5,
      arbitrary: fc.tuple(valid, fc.nat(), fc.constantFrom<Mutation>('replace', 'replace', 'replace', 'delete', 'add'), hostileValue)
        .map(([value, pick, mutation, replacement]) => mutateAt(value, pick, mutation, replacement)),
    },
    { weight: 1, arbitrary: hostileValue }
  )
}
