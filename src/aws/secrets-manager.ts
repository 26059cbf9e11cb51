// Reads a JSON secret from AWS Secrets Manager (merged over the environment at start).
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { awsClientConfig, type AwsClientOptions } from './clients.ts'

export async function fetchSecretJson (secretName: string, options: AwsClientOptions): Promise<Record<string, unknown>> {
  const client = new SecretsManagerClient(awsClientConfig(options))
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretName }))
    const text = result.SecretString ?? (result.SecretBinary ? Buffer.from(result.SecretBinary).toString('utf8') : '')
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new Error('the secret is not JSON')
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the secret is not a JSON object')
    return parsed as Record<string, unknown>
  } finally {
    client.destroy()
  }
}
