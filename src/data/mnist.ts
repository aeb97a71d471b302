// loadDataset: finds the four IDX files of MNIST / Fashion-MNIST (data dir, offline copy, mirrors),
// verifies them against pinned checksums and parses them into train/test splits.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { download, type Progress } from './download.ts';
import { DataError } from './errors.ts';
import { decompress, parsePair } from './idx.ts';
import { DATASETS, FILE_KEYS, type DatasetName, type DatasetSplits, type FileKey, type FileSpec, type Split } from './sources.ts';

/** What loadDataset reports along the way; the CLI renders these (`message` is ready to print). */
export type DataEvent =
  | { type: 'found'; file: string; path: string; source: string; message: string }
  | { type: 'download'; file: string; url: string; message: string }
  | ({ type: 'progress' } & Progress)
  | { type: 'download-failed'; file: string; url: string; reason: string; message: string }
  | { type: 'warning'; message: string };

export interface LoadOptions {
  dataset: DatasetName;
  /** Where the user's files live and downloads go (default `./data/<dataset>`). */
  dataDir?: string;
  /** Download mirrors, tried in order (default: the dataset's). */
  mirrors?: string[];
  /** Never download. */
  offline?: boolean;
  onEvent?: (e: DataEvent) => void;
  /** Overrides file names and pinned checksums (tests, or a custom IDX set served from a mirror). */
  files?: Partial<Record<FileKey, FileSpec>>;
  /** Overrides the offline copy's directory; `null` disables that source. */
  offlineDir?: string | null;
  /** Idle timeout per download (default 30 s). */
  timeoutMs?: number;
}

interface Found { bytes: Uint8Array; path: string; verified: boolean; source: string; fromDataDir: boolean }

/** Loads a dataset from the first source that has each file: data dir, offline copy, then the mirrors. */
export async function loadDataset(opts: LoadOptions): Promise<DatasetSplits> {
  const info = DATASETS[opts.dataset];
  if (!info) throw new DataError(`unknown dataset ${JSON.stringify(opts.dataset)}`, `known: ${Object.keys(DATASETS).join(', ')}`);
  const dataDir = resolve(opts.dataDir ?? join('data', info.name));
  const offlineDir = opts.offlineDir === null ? undefined : (opts.offlineDir ?? info.offlineDir());
  const emit = opts.onEvent ?? (() => {});
  // a file given as the data dir is a mistake to report, not a directory to skip past
  const dirStat = await stat(dataDir).catch(() => undefined);
  if (dirStat && !dirStat.isDirectory()) {
    throw new DataError(`data dir ${show(dataDir)}: is a file, not a directory`, 'pass --data-dir DIR (or set MNIST_DATA_DIR) to the directory that holds the IDX files');
  }

  async function find(spec: FileSpec): Promise<Found> {
    const tried: string[] = [];

    // (a) The data dir. A file the user put there is used even if its checksum differs: it may be
    // a custom IDX set. It must still parse (the parser's message names what is wrong), and a
    // warning says it is unverified. Only downloads and the offline copy are held to the checksum.
    const own = await readFirst(dataDir, spec.name);
    if (own) {
      const raw = ownFile(() => decompress(own.bytes, show(own.path)));
      return { bytes: raw, path: own.path, verified: md5(raw) === spec.rawMd5, source: `data dir ${show(dataDir)}`, fromDataDir: true };
    }
    tried.push(`${show(dataDir)}: no ${spec.name} or ${spec.name}.gz`);

    // (b) The offline copy: used only if it verifies, else we fall through to the mirrors.
    if (offlineDir) {
      const copy = await readFirst(offlineDir, spec.name);
      if (copy) {
        try {
          const raw = decompress(copy.bytes, show(copy.path));
          const found = md5(raw);
          if (found === spec.rawMd5) {
            return { bytes: raw, path: copy.path, verified: true, source: `${info.offlineLabel} (${show(offlineDir)})`, fromDataDir: false };
          }
          tried.push(`${show(copy.path)}: expected md5 ${spec.rawMd5}, found ${found}`);
        } catch (e) {
          if (!(e instanceof DataError)) throw e;
          tried.push(e.message);
        }
      } else {
        tried.push(`${info.offlineLabel} (${show(offlineDir)}): no ${spec.name}`);
      }
    } else {
      tried.push(`${info.offlineLabel}: not installed`);
    }

    // (c) The mirrors, into the data dir; the download checks the gz md5 strictly.
    if (opts.offline) {
      tried.push('mirrors: not tried (offline)');
    } else {
      const dest = join(dataDir, `${spec.name}.gz`);
      await mkdir(dataDir, { recursive: true });
      for (const mirror of opts.mirrors ?? info.mirrors) {
        const url = new URL(`${spec.name}.gz`, mirror.endsWith('/') ? mirror : `${mirror}/`).href;
        emit({ type: 'download', file: spec.name, url, message: `downloading ${url}` });
        try {
          await download(url, dest, { md5: spec.gzMd5, timeoutMs: opts.timeoutMs, onProgress: (p) => emit({ type: 'progress', ...p }) });
        } catch (e) {
          if (!(e instanceof DataError)) throw e;
          tried.push(e.message);
          emit({ type: 'download-failed', file: spec.name, url, reason: e.message, message: `download failed: ${e.message}` });
          continue;
        }
        const raw = decompress(await readFile(dest), show(dest));
        return { bytes: raw, path: dest, verified: true, source: `${new URL(url).origin} -> ${show(dataDir)}`, fromDataDir: false };
      }
    }
    throw new DataError(`${info.name}: could not get ${spec.name}; tried:\n${tried.map((t) => `  - ${t}`).join('\n')}`, info.hint);
  }

  // a broken file in the data dir gets a hint on what to do with it
  function ownFile<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof DataError && !e.hint) {
        throw new DataError(e.message, `fix or delete the files in ${show(dataDir)} (then the offline copy or a download is used)`);
      }
      throw e;
    }
  }

  const files = { ...info.files, ...opts.files };
  const found = {} as Record<FileKey, Found>;
  for (const k of FILE_KEYS) {
    found[k] = await find(files[k]);
    const { path, source } = found[k];
    emit({ type: 'found', file: files[k].name, path, source, message: `${files[k].name} from ${source}` });
  }

  const split = (images: Found, labels: Found, use: string): Split => {
    const parse = () => {
      const names = { images: show(images.path), labels: show(labels.path) };
      const pair = parsePair(images.bytes, labels.bytes, names, { rows: info.rows, cols: info.cols, numClasses: info.classes.length });
      // A header that says 0 items parses, but every later step (batches, schedules, accuracy) needs one.
      if (pair.count === 0) throw new DataError(`${names.images} holds 0 images: nothing to ${use}`);
      return pair;
    };
    const p = images.fromDataDir || labels.fromDataDir ? ownFile(parse) : parse();
    return { images: p.images, labels: p.labels, count: p.count, rows: p.rows, cols: p.cols };
  };
  const train = split(found.trainImages, found.trainLabels, 'train on');
  const test = split(found.testImages, found.testLabels, 'test on');

  for (const k of FILE_KEYS) {
    if (!found[k].verified) {
      emit({ type: 'warning', message: `${show(found[k].path)}: md5 differs from the pinned ${info.name} file; using it as a custom IDX file` });
    }
  }
  const source = [...new Set(FILE_KEYS.map((k) => found[k].source))].join(' + ');
  return { name: info.name, train, test, mean: info.mean, std: info.std, classes: info.classes, source };
}

async function readFirst(dir: string, name: string): Promise<{ bytes: Uint8Array; path: string } | undefined> {
  for (const path of [join(dir, name), join(dir, `${name}.gz`)]) {
    try {
      return { bytes: await readFile(path), path };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new DataError(`${show(path)}: cannot read (${(e as Error).message})`);
    }
  }
  return undefined;
}

function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** A path as the user would type it: relative to the working directory when inside it. */
function show(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
