// Entry point of the mnist-eval command.
import { main } from './eval.ts';

await main();
