// CSV import: the body is spooled to a temporary file as it arrives, then parsed and written to Postgres in unnest
// batches in one transaction. No connection is taken while the client is still sending: a client trickling its
// upload holds a file, not a pooled connection (ten such uploads would otherwise hold the whole pool).
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parse, type CsvError } from 'csv-parse'
import type pg from 'pg'
import { withTransaction } from '../../db/transaction.ts'
import { PayloadTooLargeError, ValidationError } from '../../errors.ts'
import { createContactsRepository, type Attributes, type ImportRow } from './contacts.repository.ts'
import { CONTACT_STATUSES, type ContactStatus } from './contacts.constants.ts'
import type { ImportResult } from './contacts.schemas.ts'
import { normalizeEmail } from './email-address.ts'

export const IMPORT_BATCH_SIZE = 5000
/** More errors than this are counted in `skipped` but not listed, so a file of garbage cannot grow the answer without bound. */
export const MAX_REPORTED_ERRORS = 1000
const MAX_FIELD_LENGTH = 200

type Field = 'email' | 'first_name' | 'last_name' | 'company' | 'status'

/** Header spellings each known column answers to, after lower-casing and turning spaces and dashes into _. */
const HEADER_SPELLINGS: Record<Field, string[]> = {
  email: ['email', 'email_address', 'e_mail', 'mail'],
  first_name: ['first_name', 'firstname', 'first', 'given_name'],
  last_name: ['last_name', 'lastname', 'last', 'surname', 'family_name'],
  company: ['company', 'company_name', 'organization', 'organisation'],
  status: ['status'],
}
const HEADER_ALIASES = new Map(Object.entries(HEADER_SPELLINGS).flatMap(([field, names]) => names.map(name => [name, field as Field])))

// A prefix no header can produce after normalisation keeps extra columns apart from the known ones.
const ATTRIBUTE_PREFIX = 'attr:'

function columnName (header: string): string {
  const normalized = header.trim().toLowerCase().replace(/[\s-]+/g, '_')
  const known = HEADER_ALIASES.get(normalized)
  if (known) return known
  return header.trim() === '' ? '' : ATTRIBUTE_PREFIX + header.trim()
}

export interface ImportOptions {
  /** Largest body accepted, in bytes; above it the import fails with 413 and writes nothing. */
  maxBytes: number
  delimiter?: string
}

interface PendingRow { line: number, row: ImportRow }

/**
 * Writes the request body to `path`, refusing it past maxBytes. The request is piped in rather than put in the
 * pipeline: a failed pipeline destroys its streams, and a destroyed request socket could not carry the 413 answer back.
 */
async function spool (body: Readable, path: string, maxBytes: number): Promise<void> {
  let bytes = 0
  const limit = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      bytes += chunk.length
      if (bytes > maxBytes) callback(new PayloadTooLargeError(`CSV import is larger than ${maxBytes} bytes`))
      else callback(null, chunk)
    },
  })
  const forwardAbort = (err: Error) => limit.destroy(err)
  // A client that goes away mid-upload (or is cut off by the request timeout) ends the import.
  const forwardClose = () => { if (!body.readableEnded) limit.destroy(new Error('the request closed before its body ended')) }
  body.once('error', forwardAbort)
  body.once('close', forwardClose)
  body.pipe(limit)
  try {
    await pipeline(limit, createWriteStream(path, { flags: 'wx', mode: 0o600 }))
  } finally {
    body.unpipe(limit)
    // Like Fastify's own body reader after a 413: the rest of a refused upload is read and dropped, so the
    // request ends and its connection can carry the answer and close (or serve the next request).
    if (!body.readableEnded) body.resume()
    body.off('error', forwardAbort)
    body.off('close', forwardClose)
  }
}

export function createContactsImporter (pool: pg.Pool) {
  return async function importContacts (tenantId: string, body: Readable, options: ImportOptions): Promise<ImportResult> {
    // Spooled under the system's temporary directory (TMPDIR): it needs room for CONTACTS_IMPORT_MAX_BYTES per running import.
    const dir = await mkdtemp(join(tmpdir(), 'outreach-import-'))
    try {
      const path = join(dir, 'upload.csv')
      await spool(body, path, options.maxBytes)
      return await importFile(pool, tenantId, createReadStream(path), options)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** Parses the spooled file and writes its rows in one transaction: a failure writes nothing. */
async function importFile (pool: pg.Pool, tenantId: string, file: Readable, options: ImportOptions): Promise<ImportResult> {
  const result: ImportResult = { imported: 0, updated: 0, skipped: 0, errors: [] }
  const reject = (line: number, email: string | null, message: string) => {
    result.skipped++
    if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push({ row: line, email, message })
  }

  let sawHeader = false
  const parser = parse({
    bom: true,
    delimiter: options.delimiter ?? ',',
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    skip_records_with_error: true,
    info: true,
    columns: (headers: string[]) => {
      sawHeader = true
      const names = headers.map(columnName)
      if (!names.includes('email')) {
        throw new ValidationError(`CSV header has no email column (found: ${headers.map(h => h.trim()).join(', ') || 'nothing'})`)
      }
      // Unnamed columns are dropped; a repeated name keeps its first column.
      return names.map((name, i) => (name === '' || names.indexOf(name) !== i ? false : name))
    },
  })
  let lastUnreadableLine = -1
  parser.on('skip', (err: CsvError) => {
    const line = typeof err.lines === 'number' ? err.lines : 0
    // A broken quote can raise a second error on the same line (the quote then never closes): one row, one error.
    if (line === lastUnreadableLine) return
    lastUnreadableLine = line
    reject(line, null, `Unreadable CSV row: ${err.message}`)
  })

  await withTransaction(pool, async (client) => {
    const contacts = createContactsRepository(client)
    let batch: PendingRow[] = []
    const inBatch = new Set<string>()

    // A failed write ends the parse; the pipeline then reports the parser's AbortError, so the write's own error
    // (a lost connection, say: 503) is kept here to be the one thrown.
    let writeFailure: unknown
    const write = async (rows: PendingRow[]) => {
      const written = await contacts.importBatch(tenantId, rows.map(p => p.row)).catch((err: unknown) => {
        writeFailure ??= err
        throw err
      })
      result.imported += written.inserted
      result.updated += written.updated
      for (const pending of rows) {
        if (written.repeated.has(pending.row.email)) reject(pending.line, pending.row.email, 'Duplicate email in the file; its first row was used')
      }
    }
    // One batch is written while the next is parsed, so Postgres and the parser work at the same time; at most
    // two batches are in memory. A failed write surfaces at the next flush.
    let writing: Promise<void> = Promise.resolve()
    const flush = async () => {
      await writing
      const rows = batch
      batch = []
      inBatch.clear()
      writing = write(rows)
      writing.catch(() => {})
    }

    try {
      await pipeline(file, parser, async (records: AsyncIterable<{ record: Record<string, string | undefined>, info: { lines: number } }>) => {
        for await (const { record, info } of records) {
          const line = info.lines - embeddedLineBreaks(record)
          const parsed = toImportRow(record)
          if (typeof parsed === 'string') {
            reject(line, record.email?.trim() || null, parsed)
            continue
          }
          if (inBatch.has(parsed.email)) {
            reject(line, parsed.email, 'Duplicate email in the file; its first row was used')
            continue
          }
          inBatch.add(parsed.email)
          batch.push({ line, row: parsed })
          if (batch.length >= IMPORT_BATCH_SIZE) await flush()
        }
      })
    } catch (err) {
      throw writeFailure ?? err
    }
    if (!sawHeader) throw new ValidationError('CSV is empty: the first line must be a header with an email column')
    await flush()
    await writing
    result.errors.sort((a, b) => a.row - b.row)
  })
  return result
}

/** A quoted field may span lines; the row is reported at the line it starts on. */
function embeddedLineBreaks (record: Record<string, string | undefined>): number {
  let count = 0
  for (const value of Object.values(record)) if (value) for (const ch of value) if (ch === '\n') count++
  return count
}

/** The row to write, or why it cannot be. */
function toImportRow (record: Record<string, string | undefined>): ImportRow | string {
  const rawEmail = record.email ?? ''
  if (rawEmail === '') return 'Missing email'
  const email = normalizeEmail(rawEmail)
  if (email === null) return 'Invalid email address'
  const rawStatus = record.status ? record.status.toLowerCase() : null
  if (rawStatus !== null && !(CONTACT_STATUSES as readonly string[]).includes(rawStatus)) {
    return `Unknown status "${record.status}" (${CONTACT_STATUSES.join(', ')})`
  }
  // fromEntries defines own properties, so even a column named __proto__ is kept as an attribute.
  const extra = Object.entries(record)
    .filter(([key, value]) => key.startsWith(ATTRIBUTE_PREFIX) && value !== undefined && value !== '')
    .map(([key, value]) => [key.slice(ATTRIBUTE_PREFIX.length), value as string])
  const attributes: Attributes | null = extra.length === 0 ? null : Object.fromEntries(extra)
  for (const field of ['first_name', 'last_name', 'company'] as const) {
    if ((record[field]?.length ?? 0) > MAX_FIELD_LENGTH) return `${field} is longer than ${MAX_FIELD_LENGTH} characters`
  }
  return {
    email,
    firstName: record.first_name || null,
    lastName: record.last_name || null,
    company: record.company || null,
    status: rawStatus as ContactStatus | null,
    attributes,
  }
}
