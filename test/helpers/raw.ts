// Raw HTTP/1.1 over a socket: for requests no well-behaved client can send (smuggling, bad
// framing, odd Host). Resolves with everything the gateway wrote until it closed or went quiet.
import net from 'node:net';

export interface RawResult {
  text: string;
  status: number;
  closed: boolean;
  headers: Record<string, string>;
  body: string;
}

export function rawRequest(port: number, payload: string | Buffer, opts: { quietMs?: number; timeoutMs?: number } = {}): Promise<RawResult> {
  const quietMs = opts.quietMs ?? 300;
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    let closed = false;
    let quiet: NodeJS.Timeout | undefined;
    const hard = setTimeout(() => finish(), opts.timeoutMs ?? 10_000);
    const finish = () => {
      clearTimeout(hard);
      if (quiet) clearTimeout(quiet);
      s.destroy();
      resolve(parse(buf, closed));
    };
    s.on('connect', () => s.write(payload));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(finish, quietMs);
    });
    s.on('end', () => {
      closed = true;
      finish();
    });
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') {
        closed = true;
        finish();
      } else reject(e);
    });
  });
}

export function parse(text: string, closed: boolean): RawResult {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  const headEnd = text.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  if (headEnd !== -1) {
    for (const line of text.slice(0, headEnd).split('\r\n').slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
  }
  return { text, status: m ? Number(m[1]) : 0, closed, headers, body: headEnd === -1 ? '' : text.slice(headEnd + 4) };
}
