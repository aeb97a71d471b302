// Entry point of the mnist-train command.
import { main } from './train.ts';

await main();
