// The bundled demo upstream that `npm start` runs beside the gateway, so the quickstart works
// on a fresh machine with nothing else installed. It echoes what it received.
import http from 'node:http';

export interface DemoUpstream {
  port: number;
  close(): Promise<void>;
}

export function startDemoUpstream(port: number, host = '127.0.0.1'): Promise<DemoUpstream> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname === '/hello' || url.pathname === '/') {
      const body = JSON.stringify({ message: 'hello from the demo upstream', path: url.pathname }) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 64 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const body = JSON.stringify(
        { method: req.method, path: req.url, headers: req.headers, body_bytes: size, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096) },
        null,
        2,
      ) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : port,
        close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
      });
    });
  });
}
