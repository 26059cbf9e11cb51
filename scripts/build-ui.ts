// Bundles the dashboard (ui/) with esbuild into dist/ui: content-hashed script and stylesheet, and an index.html naming them.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const UI_SOURCE = fileURLToPath(new URL('../ui/', import.meta.url))
export const DEFAULT_UI_OUT = fileURLToPath(new URL('../dist/ui/', import.meta.url))

export interface UiBuild {
  outDir: string
  files: Array<{ name: string, bytes: number }>
}

export async function buildUi (outDir: string = DEFAULT_UI_OUT): Promise<UiBuild> {
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  const result = await build({
    entryPoints: { app: join(UI_SOURCE, 'src/main.ts'), styles: join(UI_SOURCE, 'styles.css') },
    outdir: outDir,
    // Hashed names let the server cache them forever; index.html, which names them, is never cached.
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    tsconfig: join(UI_SOURCE, 'tsconfig.json'),
  })
  const outputs = Object.keys(result.metafile.outputs).map(path => basename(path))
  const script = outputs.find(name => name.startsWith('app-') && name.endsWith('.js'))
  const styles = outputs.find(name => name.startsWith('styles-') && name.endsWith('.css'))
  if (!script || !styles) throw new Error(`esbuild produced no script or stylesheet: ${outputs.join(', ')}`)
  const template = await readFile(join(UI_SOURCE, 'index.html'), 'utf8')
  const html = template.replace('__SCRIPT__', script).replace('__STYLES__', styles)
  // Written last: a server that sees index.html can serve everything it names.
  await writeFile(join(outDir, 'index.html'), html)
  const files = await Promise.all([...outputs, 'index.html'].map(async name => ({ name, bytes: (await readFile(join(outDir, name))).length })))
  return { outDir, files }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outDir, files } = await buildUi(process.argv[2] ?? DEFAULT_UI_OUT)
  for (const file of files) process.stdout.write(`${outDir}${file.name}  ${(file.bytes / 1024).toFixed(1)} KiB\n`)
}
