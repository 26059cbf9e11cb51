// One place that builds AWS client settings: default credential chain, region, optional endpoint override.
export interface AwsClientOptions {
  region: string
  /** Points every client at a local fake (tests) or LocalStack; unset in production. */
  endpoint?: string | undefined
}

/**
 * Settings shared by every AWS SDK v3 client. Credentials are left to the default chain
 * (ECS task role on Fargate, env keys locally) so they never pass through our config.
 */
export function awsClientConfig (options: AwsClientOptions) {
  return {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    maxAttempts: 3,
  }
}
