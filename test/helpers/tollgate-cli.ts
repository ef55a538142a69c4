/**
 * The `tollgate` command run from the TypeScript sources (through vite-node), so tests can start
 * real gateway processes without a build: `vite-node test/helpers/tollgate-cli.ts -- serve …`.
 */
import { main } from '../../src/cli/main.js';

const code = await main(process.argv.slice(2));
// As bin/tollgate.js: a failure exits now.
if (code > 0) process.exit(code);
if (code === 0) process.exitCode = 0;
