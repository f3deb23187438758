/** The Action's entry point (bundled by ncc into action/dist/index.js). */
import { run } from './main.js';

await run();
