// Looks for a plain-text secret in every row of every table and every Redis key of a test run.
import type pg from 'pg'
import type { Redis } from 'ioredis'

/** Tables (and Redis keys) whose contents include `needle`, as text. */
export async function findSecret (pool: pg.Pool, redis: Redis, redisPrefix: string, needle: string): Promise<string[]> {
  const found: string[] = []
  const { rows: tables } = await pool.query<{ name: string }>(
    "SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
  for (const { name } of tables) {
    // bytea columns are searched too: a row's text form shows them as hex, so look for the hex of the needle as well.
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${name} t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0`,
      [needle, Buffer.from(needle).toString('hex')])
    if ((rows[0]?.n ?? 0) > 0) found.push(`postgres:${name}`)
  }
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000)
    for (const key of keys) {
      if (key.includes(needle)) found.push(`redis-key:${key}`)
      if ((await redisValue(redis, key)).includes(needle)) found.push(`redis:${key}`)
    }
    cursor = next
  } while (cursor !== '0')
  return found
}

/** A key's whole value as text, by type (DUMP would compress long strings and hide the needle). */
async function redisValue (redis: Redis, key: string): Promise<string> {
  switch (await redis.type(key)) {
    case 'string': return await redis.get(key) ?? ''
    case 'hash': return JSON.stringify(await redis.hgetall(key))
    case 'list': return JSON.stringify(await redis.lrange(key, 0, -1))
    case 'set': return JSON.stringify(await redis.smembers(key))
    case 'zset': return JSON.stringify(await redis.zrange(key, 0, -1))
    case 'stream': return JSON.stringify(await redis.xrange(key, '-', '+'))
    default: return ''
  }
}
