// The service's own API, called with the API key kept in this browser session; errors arrive as the service's envelope.
const KEY_STORAGE = 'outreach.apiKey'

export function storedKey (): string | null {
  return sessionStorage.getItem(KEY_STORAGE)
}

export function storeKey (key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE)
  else sessionStorage.setItem(KEY_STORAGE, key)
}

export interface FieldError { field: string, message: string }

export class ApiError extends Error {
  constructor (
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details: FieldError[] = [],
    /** Seconds the rate limiter asks us to wait (429). */
    readonly retryAfter: number | null = null
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** Called when the service refuses the stored key, so the app can return to the sign-in form. */
let onKeyRefused: (message: string) => void = () => {}
export function whenKeyRefused (handler: (message: string) => void): void {
  onKeyRefused = handler
}

type Query = Record<string, string | number | null | undefined>

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** Sent as-is with this content type instead of JSON. */
  raw?: { body: BodyInit, contentType: string }
  /** Use this key rather than the stored one (the sign-in check). */
  key?: string
}

export function withQuery (path: string, query: Query = {}): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== null && value !== undefined && value !== '') params.set(name, String(value))
  const search = params.toString()
  return search ? `${path}?${search}` : path
}

/** A short wait the rate limiter asks for is waited out once, so a burst of clicks does not surface as an error. */
const AUTO_RETRY_MAX_SECONDS = 2

export async function api<T> (method: string, path: string, options: RequestOptions = {}): Promise<T> {
  try {
    return await send<T>(method, path, options)
  } catch (err) {
    // The limiter answers before the route runs, so repeating the request (even a POST or DELETE) cannot do it twice.
    const waitSeconds = err instanceof ApiError && err.code === 'RATE_LIMIT_EXCEEDED' ? err.retryAfter : null
    if (waitSeconds === null || waitSeconds > AUTO_RETRY_MAX_SECONDS) throw err
    await new Promise(resolve => setTimeout(resolve, waitSeconds * 1000))
    return await send<T>(method, path, options)
  }
}

async function send<T> (method: string, path: string, options: RequestOptions): Promise<T> {
  const key = options.key ?? storedKey()
  const headers: Record<string, string> = { accept: 'application/json' }
  if (key) headers['x-api-key'] = key
  let body: BodyInit | undefined
  if (options.raw) {
    headers['content-type'] = options.raw.contentType
    body = options.raw.body
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  let response: Response
  try {
    response = await fetch(withQuery(path, options.query), { method, headers, body, credentials: 'omit', cache: 'no-store' })
  } catch {
    throw new ApiError('The service cannot be reached; check your connection and try again', 0, 'NETWORK_ERROR')
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let parsed: unknown = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = null
  }
  if (!response.ok) {
    const envelope = (parsed ?? {}) as { error?: string, code?: string, details?: FieldError[] }
    const retryAfter = Number(response.headers.get('retry-after'))
    const error = new ApiError(
      envelope.error ?? `${response.status} ${response.statusText}`,
      response.status,
      envelope.code ?? `HTTP_${response.status}`,
      envelope.details ?? [],
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null)
    if (response.status === 401 && options.key === undefined) onKeyRefused(error.message)
    throw error
  }
  return parsed as T
}

/** One line for a person: the message, and which fields were wrong. */
export function describeError (err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err)
  if (err.status === 403) return `${err.message} (this API key lacks the scope this page needs)`
  if (err.status === 429) return `Too many requests: ${err.message}`
  const fields = err.details.map(d => `${d.field} ${d.message}`).filter(text => !err.message.includes(text))
  return fields.length > 0 ? `${err.message} (${fields.join('; ')})` : err.message
}

/** Runs a task nobody awaits (an event handler's work); the task reports its own errors, this catches the rest. */
export function background (task: Promise<unknown>): void {
  task.catch((err: unknown) => { console.error(err) })
}
