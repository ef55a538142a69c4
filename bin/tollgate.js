#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm start builds it first).
import { main } from '../dist/cli/main.js';

const code = await main(process.argv.slice(2));
// A failure exits now: reconnecting clients (Redis, a cluster worker's IPC channel) would keep the
// process alive otherwise. Success lets output drain and the process end by itself.
if (code > 0) process.exit(code);
if (code === 0) process.exitCode = 0;
