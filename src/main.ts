// What `npm start` runs: API and workers (ROLE=all), or one of them (ROLE=api | ROLE=worker).
import { runEntrypoint } from './entrypoint.ts'

await runEntrypoint()
