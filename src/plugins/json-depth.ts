// JSON bodies parsed only after a linear scan refuses deep nesting: a body of `[[[[…` must cost what a normal one does.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ValidationError } from '../errors.ts'

/**
 * No route takes anything nested this deep (Mailgun's events are about five levels); JSON.parse, the schema validator
 * and every later walk of the object are what a nested body makes expensive, and they all run after this check.
 */
export const MAX_JSON_DEPTH = 64

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d

/**
 * True when `text` opens more than `max` arrays or objects inside one another. Brackets inside strings do not count.
 * Malformed text is not judged here: JSON.parse refuses it next.
 */
export function exceedsJsonDepth (text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) {
      inString = true
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--
    }
  }
  return false
}

async function jsonDepthPlugin (app: FastifyInstance) {
  // Fastify's own parser (empty body refused, __proto__ and constructor.prototype refused) runs after the scan.
  // Typed as either style of parser; Fastify's own is the callback one.
  const parseJson = app.getDefaultJsonParser('error', 'error') as (request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => void
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (exceedsJsonDepth(body as string)) {
      done(new ValidationError(`JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined)
      return
    }
    parseJson(request, body as string, done)
  })
}

export default fp(jsonDepthPlugin, { name: 'json-depth' })
