// A batched, asynchronous writer of log lines (access log, decision log). sonic-boom only
// coalesces lines while a write is in flight; on a fast disk nearly every line became its own
// fs.write (measured: ~12% of the proxy's CPU under load). So lines are batched here, by size,
// and by a short timer so a quiet gateway still shows its lines within 100 ms.
import pino from 'pino';

/** Lines are batched up to this many bytes, or for at most FLUSH_MS, before one write. */
const BATCH_BYTES = 64 * 1024;
const FLUSH_MS = 100;

export interface LineSink {
  append(line: string): void;
  /** Whole lines already encoded as UTF-8 (each ending in a newline): written now, after anything
   * batched before. The buffer must not be changed afterwards. */
  appendBytes(lines: Buffer): void;
  /** Reopen the file (after logrotate moved it; SIGUSR1). */
  reopen(): void;
  flush(): Promise<void>;
}

let stdoutSink: LineSink | undefined;

/**
 * The line, ending in a newline, and flat. A line built with template literals is a rope: one V8
 * cons-string node per piece. Reading a character flattens it (there is no public flatten API),
 * so a batch keeps one flat string per line alive until it is written rather than every node of
 * every rope. (Not measurable on its own in the bench; the access log, the big writer, encodes its
 * lines to bytes itself and uses appendBytes.)
 */
function terminated(line: string): string {
  return line.charCodeAt(line.length - 1) === 10 ? line : `${line}\n`;
}

/**
 * `path` undefined: stdout. Every stdout writer (access log, decision log, audit trail) shares one
 * sink: two asynchronous writers on fd 1 could split a line when a pipe write is partial.
 */
export function createLineSink(path: string | undefined): LineSink {
  if (path === undefined) return (stdoutSink ??= makeSink(undefined));
  return makeSink(path);
}

/** How long flush() waits for the destination to take the bytes (a stdout nobody reads). */
const FLUSH_WAIT_MS = 2000;

function makeSink(path: string | undefined): LineSink {
  // Buffer mode: lines arrive as bytes (the access log encodes them itself) or are encoded once
  // here; in its string mode sonic-boom measures and re-encodes every batch after writing it.
  const dest = pino.destination({ dest: path ?? 1, sync: false, mkdir: true, contentMode: 'buffer' });
  // pino's types describe sonic-boom's string mode only.
  const writeBytes = (b: Buffer) => dest.write(b as unknown as string);
  let batch = '';
  let timer: NodeJS.Timeout | undefined;
  // Bytes handed to sonic-boom and not yet written. flush() waits for them: sonic-boom's own
  // flush(cb) answers at once (minLength 0), and pino's exit hook then calls flushSync(), which
  // writes the queued buffers *before* the one still in flight, so lines came out reordered
  // (an audit chain on stdout failed to verify after a SIGTERM).
  let unwritten = 0;
  let waiters: (() => void)[] = [];
  const settle = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  dest.on('write', (n: number) => {
    unwritten -= n;
    if (unwritten <= 0) {
      unwritten = 0;
      settle();
    }
  });
  dest.on('error', settle);
  const drain = () => {
    timer = undefined;
    if (batch === '') return;
    const out = Buffer.from(batch, 'utf8');
    batch = '';
    unwritten += out.length;
    writeBytes(out);
  };
  return {
    append(line) {
      batch += terminated(line);
      if (batch.length >= BATCH_BYTES) drain();
      else if (timer === undefined) {
        timer = setTimeout(drain, FLUSH_MS);
        timer.unref();
      }
    },
    appendBytes(lines) {
      if (timer !== undefined) clearTimeout(timer);
      drain();
      unwritten += lines.length;
      writeBytes(lines);
    },
    reopen() {
      drain();
      dest.reopen();
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      drain();
      if (unwritten === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(resolve, FLUSH_WAIT_MS);
        t.unref();
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
