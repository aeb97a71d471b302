// Entry point of the mnist-import command.
import { main } from './import.ts';

await main();
