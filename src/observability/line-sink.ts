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
  /** Reopen the file (after logrotate moved it; SIGUSR1). */
  reopen(): void;
  flush(): Promise<void>;
}

let stdoutSink: LineSink | undefined;

/**
 * `path` undefined: stdout. Every stdout writer (access log, decision log, audit trail) shares one
 * sink: two asynchronous writers on fd 1 could split a line when a pipe write is partial.
 */
export function createLineSink(path: string | undefined): LineSink {
  if (path === undefined) return (stdoutSink ??= makeSink(undefined));
  return makeSink(path);
}

function makeSink(path: string | undefined): LineSink {
  const dest = pino.destination({ dest: path ?? 1, sync: false, mkdir: true });
  let batch = '';
  let timer: NodeJS.Timeout | undefined;
  const drain = () => {
    timer = undefined;
    if (batch === '') return;
    const out = batch;
    batch = '';
    dest.write(out);
  };
  return {
    append(line) {
      batch += line;
      if (batch.length >= BATCH_BYTES) drain();
      else if (timer === undefined) {
        timer = setTimeout(drain, FLUSH_MS);
        timer.unref();
      }
    },
    reopen() {
      drain();
      dest.reopen();
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      drain();
      return new Promise((resolve) => {
        try {
          dest.flush(() => resolve());
        } catch {
          resolve();
        }
      });
    },
  };
}
