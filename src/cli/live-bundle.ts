// The live page's script: src/live/app.ts and everything it imports from src/ (the engine, the
// layers, the picture preparation), bundled by esbuild when the server starts and kept in memory.
// No build step and no committed artefact: the page always runs the code in this checkout.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { MnistError } from '../engine/errors.ts';

/**
 * src/live/app.ts of this checkout or install, looked for upwards from this module: it runs from
 * src/cli/ under tsx, and from node_modules/.cache/mnist-ts/<key>/ as bin/launch.mjs's bundle.
 */
export function liveEntry(from = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const entry = join(dir, 'src', 'live', 'app.ts');
    if (existsSync(entry)) return entry;
    if (dirname(dir) === dir) throw new MnistError(`cannot find src/live/app.ts above ${from}`, 'the live page is built from the sources: is src/ part of this install?');
  }
}

let cached: Promise<string> | undefined;

/** The bundled browser script (an IIFE); built once per process. */
export function liveBundle(): Promise<string> {
  cached ??= bundle().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function bundle(): Promise<string> {
  try {
    const r = await build({
      entryPoints: [liveEntry()],
      bundle: true,
      write: false,
      format: 'iife',
      // 'browser' makes any node: import in the page's code a build error rather than a broken page
      platform: 'browser',
      target: 'es2020',
      legalComments: 'none',
      logLevel: 'silent',
      charset: 'utf8',
    });
    return r.outputFiles[0].text;
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new MnistError(`cannot bundle the live page's script: ${first?.text ?? (err as Error).message}${where}`, 'this is a bug in mnist-ts, please report it');
  }
}
