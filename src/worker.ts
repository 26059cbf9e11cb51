// Worker entrypoint: queue workers alone (plus /health, /ready, /metrics), whatever ROLE says.
import { runEntrypoint } from './entrypoint.ts'

await runEntrypoint('worker')
