// The CLI as users meet it: `bin/gatehouse.js` in a child process, its exit code and its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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

export interface CliGateway {
  child: ChildProcess;
  port: number;
  /** Everything the process wrote to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `gatehouse start -c FILE` as a real process, resolved once it says where it listens. Generous:
 * start-up takes ~2 s on a loaded 2-core machine (schema compile included).
 */
export async function startCliGateway(file: string, opts: { env?: Record<string, string> } = {}): Promise<CliGateway> {
  const child = spawn(process.execPath, [bin, 'start', '-c', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  for (let i = 0; i < 600; i++) {
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
    if (m) {
      return {
        child,
        port: Number(m[1]),
        stdout: () => out,
        stderr: () => err,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          const [code] = child.exitCode !== null ? [child.exitCode] : ((await once(child, 'exit')) as [number | null]);
          return code;
        },
      };
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`gateway did not start:\n${err}`);
}
