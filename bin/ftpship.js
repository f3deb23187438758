#!/usr/bin/env node
import { main } from '../dist/src/cli.js';
import { runMain } from '../dist/src/run-main.js';

runMain(() => main(process.argv.slice(2)));
