// CloudFront signed URLs (canned policy) for report downloads; the key pair comes from config or Secrets Manager.
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { getSignedUrl } from '@aws-sdk/cloudfront-signer'
import { ServiceUnavailableError } from '../../errors.ts'

/** The key parsed once: signing with a PEM string parses it again on every signature, four times the cost. */
export interface CloudFrontKeyPair { keyPairId: string, privateKey: KeyObject }

export interface KeyPairSources {
  keyPairId: string | undefined
  /** PEM text (literal \n allowed, as env files carry it) or the path of a PEM file. */
  privateKey: string | undefined
  /** Read when privateKey is unset: the secret holds the PEM, or JSON {privateKey, keyPairId}. */
  readSecret: () => Promise<string>
}

const NOT_CONFIGURED = 'Report links are not configured on this server'

export async function resolvePrivateKey (value: string): Promise<KeyObject> {
  const text = value.includes('-----BEGIN') ? value.replace(/\\n/g, '\n') : await readFile(value, 'utf8')
  // Parsed here so a truncated or non-RSA key fails with a clear message, not at the first signature.
  const key = createPrivateKey(text)
  if (key.asymmetricKeyType !== 'rsa') throw new Error('CloudFront private key must be an RSA key')
  return key
}

/** Loads the key pair once, on first use; a failure is not cached, so fixing the secret needs no restart. */
export function createKeyPairLoader (sources: KeyPairSources): () => Promise<CloudFrontKeyPair> {
  let loaded: Promise<CloudFrontKeyPair> | undefined
  async function load (): Promise<CloudFrontKeyPair> {
    let privateKey = sources.privateKey
    let keyPairId = sources.keyPairId
    if (!privateKey) {
      const secret = await sources.readSecret()
      const parsed = secret.trimStart().startsWith('{') ? parseSecretJson(secret) : { privateKey: secret }
      privateKey = parsed.privateKey
      keyPairId ??= parsed.keyPairId
    }
    if (!privateKey) throw new Error('no private key')
    if (!keyPairId) throw new Error('CLOUDFRONT_KEY_PAIR_ID is not set')
    return { keyPairId, privateKey: await resolvePrivateKey(privateKey) }
  }
  return async () => {
    loaded ??= load()
    try {
      return await loaded
    } catch (err) {
      loaded = undefined
      throw Object.assign(new ServiceUnavailableError(`${NOT_CONFIGURED}: ${(err as Error).message}`), { cause: err })
    }
  }
}

export function signUrl (keyPair: CloudFrontKeyPair, url: string, expiresAt: Date): string {
  if (!url.startsWith('https://')) throw new Error('CloudFront links are https only')
  // The SDK types the key as PEM text, but hands it to crypto's sign({ key }), which takes a KeyObject as well.
  const privateKey = keyPair.privateKey as unknown as string
  return getSignedUrl({ url, keyPairId: keyPair.keyPairId, privateKey, dateLessThan: expiresAt })
}

function parseSecretJson (secret: string): { privateKey?: string, keyPairId?: string } {
  try {
    return JSON.parse(secret) as { privateKey?: string, keyPairId?: string }
  } catch {
    // JSON.parse quotes the input in its message; the input is a private key.
    throw new Error('the secret is neither a PEM key nor valid JSON')
  }
}
