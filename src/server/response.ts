// The ServerResponse class the listeners create (node:http's `ServerResponse` option), with
// Gatehouse's per-response slots declared up front.
//
// Why a subclass: the listener and the pipeline keep a little state on each response (its
// connection's bookkeeping, the exchange to log when it closes). Added to a plain ServerResponse,
// each new property moved the object to another hidden class and into an out-of-object property
// store, so node:http's own code saw responses of several shapes on every request. Declared as
// class fields, every response has one shape from its constructor on.
import http from 'node:http';

/** The listener's per-connection bookkeeping for this response (listener.ts). */
export const CONN = Symbol('gatehouse.conn');
/** The exchange to log and cancel when this response closes (handle-request.ts): its request
 * context, the services that log it, and the upstream side to cancel if the client leaves. Three
 * slots instead of one record: no object per request. */
export const EXCHANGE = Symbol('gatehouse.exchange');
export const EXCHANGE_SERVICES = Symbol('gatehouse.exchangeServices');
export const EXCHANGE_UPSTREAM = Symbol('gatehouse.exchangeUpstream');
/** True when the listener already listens to 'close' and forwards it to exchangeClosed(), so the
 * response keeps one 'close' listener (two turn the emitter's slot into an array every emit copies). */
export const CLOSE_FORWARDED = Symbol('gatehouse.closeForwarded');

export class GatehouseResponse<Req extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<Req> {
  [CONN]: unknown = undefined;
  [EXCHANGE]: unknown = undefined;
  [EXCHANGE_SERVICES]: unknown = undefined;
  [EXCHANGE_UPSTREAM]: unknown = undefined;
  [CLOSE_FORWARDED] = false;
}
