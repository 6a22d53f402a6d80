#!/usr/bin/env node
// Entry point of the `haven` command. reflect-metadata is loaded once, here, before any
// decorated class is evaluated.
import 'reflect-metadata';

const { main } = await import('../dist/cli/main.js');
const code = await main(process.argv.slice(2));
process.exitCode = code;
