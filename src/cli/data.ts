// Loads a dataset for a command, showing where each file comes from and download progress.
import { resolve } from 'node:path';
import { loadDataset, type DataEvent } from '../data/mnist.ts';
import type { DatasetName, DatasetSplits } from '../data/sources.ts';
import type { Ui } from './ui.ts';

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

/** The data directory the flags and environment ask for. */
function dataDirFor(dataset: string, flag?: string): string {
  return flag ?? process.env.MNIST_DATA_DIR ?? resolve('data', dataset);
}

export async function loadDatasetForCli(ui: Ui, dataset: DatasetName, dataDirFlag?: string): Promise<DatasetSplits> {
  const spin = ui.spin(`loading ${dataset}`);
  let lastLine = 0;
  try {
    const data = await loadDataset({
      dataset,
      dataDir: dataDirFor(dataset, dataDirFlag),
      onEvent: (e: DataEvent) => {
        if (e.type === 'warning') ui.warn(e.message);
        else if (e.type === 'progress') {
          const total = e.total ? `/${mb(e.total)} MB (${Math.round((100 * e.received) / e.total)}%)` : ' MB';
          const text = `downloading ${e.file}: ${mb(e.received)}${total}`;
          spin.text(text);
          // off a TTY, one line every few seconds is enough for a CI log
          const now = Date.now();
          if (!ui.tty && now - lastLine > 5000) {
            ui.line(text);
            lastLine = now;
          }
        } else if (e.type === 'download-failed') {
          ui.warn(e.message);
        } else {
          spin.text(e.message);
          if (!ui.tty && e.type === 'download') ui.line(e.message);
        }
      },
    });
    spin.done(`${data.name}: ${data.train.count.toLocaleString('en-US')} training and ${data.test.count.toLocaleString('en-US')} test images (${data.source})`);
    return data;
  } catch (err) {
    spin.stop();
    throw err;
  }
}
