#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm start builds it first).
import { main } from '../dist/cli/main.js';

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
