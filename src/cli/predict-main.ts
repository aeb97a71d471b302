// Entry point of the mnist-predict command.
import { main } from './predict.ts';

await main();
