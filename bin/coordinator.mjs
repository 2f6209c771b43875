#!/usr/bin/env node
// `coordinator …` as an installed command: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { runCoordinatorCli } = await import('../coordinator/cli.ts');
process.exitCode = await runCoordinatorCli(process.argv.slice(2), {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
});
