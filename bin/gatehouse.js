#!/usr/bin/env node
// Launcher for the compiled CLI in dist/. Kept tiny: everything testable lives in src/cli/main.ts.
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (err) {
  const missing = err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('cli/main.js');
  process.stderr.write(
    missing
      ? 'gatehouse: not built yet: run npm install (or npm run build) first\n'
      : `gatehouse: cannot load the CLI: ${String(err?.message ?? err).split('\n')[0]}\n`,
  );
  process.exit(missing ? 1 : 70);
}
// `gatehouse audit verify DIR | head`: a reader that went away is not our failure. Later writes
// are dropped and the command still ends with its own exit code.
const ignoreClosedPipe = (err) => {
  if (err?.code !== 'EPIPE' && err?.code !== 'ERR_STREAM_DESTROYED') throw err;
};
process.stdout.on('error', ignoreClosedPipe);
process.stderr.on('error', ignoreClosedPipe);
const code = await main(process.argv.slice(2));
// A failed start may leave sockets or timers behind; a failure must end the process anyway.
if (code !== 0) process.exit(code);
process.exitCode = code;
