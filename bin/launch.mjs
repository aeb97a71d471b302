// Starts a command fast: the TypeScript sources are bundled once into plain JavaScript
// (node_modules/.cache/mnist-ts/<key>/, the key taken from every source file's path, size and
// mtime), so a start costs Node and the bundle rather than tsx's loader thread and a transform
// hook on every import. Any change under src/ makes a new key, so a bundle is never stale; when
// the bundle cannot be built or stored (a read-only install, no esbuild), tsx runs the sources.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SRC = join(ROOT, 'src');
const CACHE = join(ROOT, 'node_modules', '.cache', 'mnist-ts');

/** Every entry a process can start from: the commands and the training worker thread. */
function entries() {
  const cli = readdirSync(join(SRC, 'cli')).filter((f) => f.endsWith('-main.ts'));
  const points = Object.fromEntries(cli.map((f) => [f.slice(0, -3), join(SRC, 'cli', f)]));
  // The worker is found through new URL('./worker.mjs', import.meta.url) by the training code,
  // so it sits beside the bundles under that name.
  points.worker = join(SRC, 'train', 'worker.ts');
  return points;
}

function sourceKey() {
  const h = createHash('sha1');
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        h.update(`${p}\0${s.size}\0${s.mtimeMs}\n`);
      }
    }
  };
  walk(SRC);
  h.update(statSync(join(ROOT, 'package.json')).mtimeMs.toString());
  return h.digest('hex').slice(0, 16);
}

async function build(dir) {
  const { build: esbuild } = await import('esbuild');
  const tmp = `${dir}.${process.pid}.tmp`;
  await esbuild({
    entryPoints: entries(),
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
  });
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another process built the same key first: use theirs.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
  // Old builds go once they are an hour old (a run still going may need its worker bundle).
  for (const old of readdirSync(CACHE)) {
    const p = join(CACHE, old);
    if (p !== dir && Date.now() - statSync(p).mtimeMs > 3_600_000) rmSync(p, { recursive: true, force: true });
  }
}

/** Prepares the bundle for the current sources and returns its folder, or null to use tsx. */
export async function bundleDir() {
  if (process.env.MNIST_TS_NO_BUNDLE === '1' || !existsSync(SRC)) return null;
  try {
    const dir = join(CACHE, sourceKey());
    if (!existsSync(join(dir, 'worker.mjs'))) {
      mkdirSync(CACHE, { recursive: true });
      await build(dir);
    }
    return dir;
  } catch {
    return null;
  }
}

/** Runs src/cli/<name>-main.ts, bundled when it can be. */
export async function launch(name) {
  const dir = await bundleDir();
  if (dir) {
    await import(pathToFileURL(join(dir, `${name}-main.mjs`)).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(SRC, 'cli', `${name}-main.ts`)).href);
}
