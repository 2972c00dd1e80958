// The CLI as users meet it: `bin/gatehouse.js` in a child process, its exit code and its output.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/test/helpers/cli.js). */
export const root = fileURLToPath(new URL('../../../', import.meta.url));
/** The executable users run. */
export const bin = join(root, 'bin', 'gatehouse.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `gatehouse ...args` from the repository root with PATH as its only environment variable.
 * With `stdin`, that text is written and stdin is closed; without it, stdin is left open.
 * `env` adds variables (e.g. a key for `audit verify --key-env`).
 */
export function runCli(args: readonly string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
  });
}
