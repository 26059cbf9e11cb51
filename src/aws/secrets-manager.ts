// Reads secrets from AWS Secrets Manager: the JSON secret merged over the environment, and single-value secrets.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { awsClientConfig, type AwsClientOptions } from './clients.ts'

export async function fetchSecretString (secretName: string, options: AwsClientOptions): Promise<string> {
  const client = new SecretsManagerClient(awsClientConfig(options))
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretName }))
    return result.SecretString ?? (result.SecretBinary ? Buffer.from(result.SecretBinary).toString('utf8') : '')
  } finally {
    client.destroy()
  }
}

export async function fetchSecretJson (secretName: string, options: AwsClientOptions): Promise<Record<string, unknown>> {
  const text = await fetchSecretString(secretName, options)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error('the secret is not JSON')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the secret is not a JSON object')
  return parsed as Record<string, unknown>
}
