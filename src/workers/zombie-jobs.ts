// A job hash left behind without a place in any list (Redis keys deleted under a running worker) blocks its job id.
import type { Queue } from 'bullmq'
import type { Redis } from 'ioredis'

/**
 * Job ids make enqueueing idempotent: BullMQ ignores an add whose id exists. After a partial Redis loss a worker
 * can re-create a job's hash while the job sits in no list ('unknown' state); it would never run and would swallow
 * every later add of its id. The sweep calls this before re-adding, so such an id becomes usable again.
 */
export async function clearZombieJob (queue: Queue, redis: Redis, jobId: string): Promise<void> {
  const job = await queue.getJob(jobId)
  if (!job || await job.getState() !== 'unknown') return
  const key = queue.toKey(jobId)
  await redis.del(key, `${key}:lock`, `${key}:logs`)
}
