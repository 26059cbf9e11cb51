// The README documents every environment variable the config schema accepts.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { ConfigSchema } from '../src/config.ts'

t.test('README lists every configuration variable', async (t) => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  for (const name of Object.keys(ConfigSchema.properties)) {
    t.match(readme, new RegExp('\\| `' + name + '` \\|'), `${name} is in the README's configuration table`)
  }
})
