// HTTP entrypoint: the API alone, whatever ROLE says.
import { runEntrypoint } from './entrypoint.ts'

await runEntrypoint('api')
