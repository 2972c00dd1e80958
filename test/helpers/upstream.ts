// Real upstream servers for integration tests: they record every request they receive (so a
// test can prove nothing was forwarded) and misbehave on command.
import http from 'node:http';
import net from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export interface TestUpstream {
  url: string;
  port: number;
  requests: Recorded[];
  /** Raw bytes seen on any connection (for smuggling tests). */
  rawBytes(): string;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

const defaultHandler: UpstreamHandler = (req, res, body) => {
  const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes: body.length });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
  res.end(out);
};

export async function startUpstream(handler: UpstreamHandler = defaultHandler, opts: { streamBody?: boolean } = {}): Promise<TestUpstream> {
  const requests: Recorded[] = [];
  let raw = '';
  const server = http.createServer((req, res) => {
    if (opts.streamBody) {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0) });
      handler(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body });
      handler(req, res, body);
    });
  });
  server.on('connection', (s: net.Socket) => {
    s.on('data', (d: Buffer) => {
      if (raw.length < 1 << 20) raw += d.toString('latin1');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    rawBytes: () => raw,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A TCP server that speaks raw bytes, for upstream misbehaviour (bad framing, resets, hangs). */
export async function startRawUpstream(onConnection: (s: net.Socket) => void): Promise<{ url: string; port: number; connections: () => number; close(): Promise<void> }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    n++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => n,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A port with nothing listening (connect → ECONNREFUSED). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** What a tracking upstream saw of one request. */
export interface TrackedRequest {
  url: string;
  /** The whole body arrived (the upstream then answers 200 "ok"). */
  completed: boolean;
  /** The request closed before its body ended. */
  aborted: boolean;
  /** Body bytes received. */
  bytes: number;
}

/** An upstream that streams request bodies and records whether each request completed or was aborted. */
export async function startTrackingUpstream(): Promise<{ u: TestUpstream; seen: TrackedRequest[] }> {
  const seen: TrackedRequest[] = [];
  const u = await startUpstream(
    (req, res) => {
      const rec: TrackedRequest = { url: req.url!, completed: false, aborted: false, bytes: 0 };
      seen.push(rec);
      req.on('data', (c: Buffer) => (rec.bytes += c.length));
      req.on('end', () => {
        rec.completed = true;
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
      });
      req.on('close', () => {
        if (!rec.completed) rec.aborted = true;
      });
    },
    { streamBody: true },
  );
  return { u, seen };
}
