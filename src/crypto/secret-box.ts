// Secrets that workers need later (seed 003's per-request SMTP password) are stored sealed, never in plain text.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { ServiceUnavailableError } from '../errors.ts'

const VERSION = 'v1'

/** CREDENTIALS_ENCRYPTION_KEY: 32 bytes, as 64 hex characters or base64. */
export function parseEncryptionKey (value: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64')
  if (key.length !== 32) throw new Error('CREDENTIALS_ENCRYPTION_KEY must be 32 bytes: 64 hex characters or 44 base64 characters')
  return key
}

function requireKey (key: Buffer | undefined): Buffer {
  if (key === undefined) {
    throw new ServiceUnavailableError('Storing an SMTP password needs CREDENTIALS_ENCRYPTION_KEY (32 bytes, hex or base64) to be configured')
  }
  return key
}

/** AES-256-GCM with a random nonce: `v1.<nonce>.<tag>.<ciphertext>`, each part base64url. */
export function sealSecret (key: Buffer | undefined, plaintext: string): string {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', requireKey(key), nonce)
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return [VERSION, nonce, cipher.getAuthTag(), sealed].map(part => typeof part === 'string' ? part : part.toString('base64url')).join('.')
}

/** Throws when the box was not sealed with this key or was altered. */
export function openSecret (key: Buffer | undefined, box: string): string {
  const [version, nonce, tag, sealed] = box.split('.')
  if (version !== VERSION || nonce === undefined || tag === undefined || sealed === undefined) throw new Error('not a sealed secret')
  const decipher = createDecipheriv('aes-256-gcm', requireKey(key), Buffer.from(nonce, 'base64url'))
  decipher.setAuthTag(Buffer.from(tag, 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8')
}
