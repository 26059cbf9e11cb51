// The tests' fake Mailgun as a process of its own, so the benchmark's provider does not share the API's event loop.
import { startFakeMailgun } from '../test/helpers/fake-mailgun.ts'

const fake = await startFakeMailgun(Number(process.env.PORT ?? 3914))
process.on('SIGTERM', () => { fake.close().then(() => process.exit(0), () => process.exit(1)) })
