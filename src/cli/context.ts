// What a command may touch. Tests pass their own; the real CLI writes to the process streams.
import type { startGateway } from '../gateway.js';

export type StartGateway = typeof startGateway;

export interface CliContext {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Loaded lazily: `validate` and `schema` must not pay for the server's imports. */
  startGateway(opts: Parameters<StartGateway>[0]): ReturnType<StartGateway>;
}

export const processContext: CliContext = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  async startGateway(opts) {
    const gateway = await import('../gateway.js');
    return gateway.startGateway(opts);
  },
};

/** Exit codes: sysexits-style where one fits. */
export const EXIT = {
  ok: 0,
  /** The gateway could not start (port in use, unreadable certificate...). */
  failure: 1,
  /** Bad usage or an invalid config: fix the input and retry. */
  usage: 2,
  /** A bug in Gatehouse (EX_SOFTWARE). */
  internal: 70,
} as const;

/** A problem to print as one line and exit with `code`; never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
