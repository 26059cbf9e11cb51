// Opaque keyset cursors: the sort key of the last row of a page, base64url-encoded JSON.
import { ValidationError } from '../../errors.ts'

export function encodeCursor (key: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')
}

/** The key inside a cursor this service issued; anything else is 400 VALIDATION_ERROR. */
export function decodeCursor (cursor: string, arity: number): string[] {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = null
  }
  if (!Array.isArray(key) || key.length !== arity || !key.every(part => typeof part === 'string')) {
    throw new ValidationError('cursor is invalid: pass the cursor of a previous page unchanged')
  }
  return key as string[]
}
