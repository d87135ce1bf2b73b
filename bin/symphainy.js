#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (the product ships its sources; no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
