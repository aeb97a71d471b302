// Entry point of the mnist-serve command.
import { main } from './serve.ts';

await main();
