// Entry point of the mnist-export command.
import { main } from './export.ts';

await main();
