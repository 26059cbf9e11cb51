// Small helpers for API-key route tests: a key per tenant and JSON requests through app.inject.
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import type { App } from '../../src/app.ts'
import type { Scope } from '../../src/modules/api-keys/scopes.ts'
import { uniqueName } from './build.ts'

export interface Caller {
  tenant: string
  key: string
  request: (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers?: Record<string, string>) => Promise<LightMyRequestResponse>
}

// The campaign API allows a key 10 requests a second; a caller moves to a fresh key of its tenant before that.
const REQUESTS_PER_KEY = 9

/** An API-key client of one tenant; `key` is the first of the keys it uses. */
export async function caller (app: App, scopes: Scope[], tenant: string = uniqueName('tenant')): Promise<Caller> {
  const { key } = await app.deps.apiKeys.create({ tenant, scopes })
  let current = key
  let used = 0
  return {
    tenant,
    key,
    async request (method, url, payload, headers = {}) {
      if (used++ === REQUESTS_PER_KEY) {
        current = (await app.deps.apiKeys.create({ tenant, scopes })).key
        used = 1
      }
      return await app.inject({
        method,
        url,
        headers: { 'x-api-key': current, ...headers },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      })
    },
  }
}

/** Asserts the error envelope's status and code and returns its message. */
export function assertError (t: Test, res: LightMyRequestResponse, status: number, code: string): string {
  t.equal(res.statusCode, status, `status ${status}`)
  const body = res.json<{ success: boolean, code: string, error: string }>()
  t.equal(body.success, false)
  t.equal(body.code, code, `code ${code}`)
  return body.error
}
