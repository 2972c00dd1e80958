// Upgrade requests. Node hands them to us detached from its HTTP machinery; we attach a normal
// ServerResponse so the same pipeline (request id, routing, filters, problem replies) applies.
// On a `websocket: true` route the tunnel is opened only after the upstream answers 101; anywhere
// else the request is served as an ordinary request with the hop-by-hop Upgrade stripped.
import http from 'node:http';
import type { Socket } from 'node:net';
import { handleRequest, type ListenerInfo, type RequestServices } from './handle-request.js';

export function handleUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer, listener: ListenerInfo, svc: RequestServices): void {
  const res = new http.ServerResponse(req);
  (res as http.ServerResponse & { assignSocket(s: Socket): void }).assignSocket(socket);
  // The parser is gone, so this connection cannot carry another request.
  res.shouldKeepAlive = false;
  res.once('finish', () => socket.destroySoon());
  socket.on('error', () => socket.destroy());
  handleRequest(req, res, listener, svc, { socket, head });
}
