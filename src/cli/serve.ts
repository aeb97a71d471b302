// mnist-serve: serves the live page for a weights file: draw a digit and watch every layer of
// the model respond, with the arithmetic of any cell on a click. Ctrl-C stops it.
import { Command } from 'commander';
import { SIZE } from '../data/image.ts';
import type { LiveModel } from '../live/protocol.ts';
import { oneLineUsageErrors, runCommand } from './errors.ts';
import { portNumber } from './flags.ts';
import { DEFAULT_HOST, DEFAULT_PORT, STOP_SIGNALS, ServeError, liveParams, startLiveServer, type LiveServer } from './live-server.ts';
import { readWeightsFile } from './weights-file.ts';

export interface ServeOptions {
  host: string;
  port: number;
}

export function serveProgram(): Command {
  return oneLineUsageErrors(new Command('mnist-serve'))
    .description('Serve a live page for a trained model: draw a digit and watch every layer respond.')
    .argument('[weights]', 'weights file written by mnist-train', 'weights.json')
    .option('--host <address>', 'address to listen on (127.0.0.1: this machine only)', DEFAULT_HOST)
    .option('--port <n>', 'port to listen on (0: any free port)', portNumber, DEFAULT_PORT);
}

/** Reads the weights file and starts the server; resolves once it listens. */
export async function startServe(weights: string, o: ServeOptions): Promise<LiveServer> {
  const { file, model } = readWeightsFile(weights);
  const shape = file.input.shape;
  if (shape.length !== 3 || shape[0] !== 1 || shape[1] !== SIZE || shape[2] !== SIZE) {
    throw new ServeError(`${weights}: the model takes input ${JSON.stringify(shape)}; the live page draws 1×28×28 digits`);
  }
  const info: LiveModel = {
    mode: 'serve',
    title: weights,
    model: { name: file.model.name, arch: file.model.arch, layers: file.model.layers },
    input: file.input,
    classes: file.classes,
    dataset: file.dataset,
    state: { version: 0, epoch: file.metrics.at(-1)?.epoch ?? 0, batch: 0, params: liveParams(model) },
  };
  return startLiveServer({ host: o.host, port: o.port, title: weights, model: () => info });
}

export async function serve(weights: string, o: ServeOptions): Promise<void> {
  const server = await startServe(weights, o);
  process.stdout.write(`serving ${weights} at ${server.url} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      for (const sig of STOP_SIGNALS) process.off(sig, stop);
      void server.close().then(resolve);
    };
    for (const sig of STOP_SIGNALS) process.on(sig, stop);
  });
}

export async function main(argv = process.argv): Promise<void> {
  const program = serveProgram();
  program.action(async (weights: string, o: ServeOptions) => {
    await runCommand(() => serve(weights, o));
  });
  await program.parseAsync(argv);
}
