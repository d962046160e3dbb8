// Tunnels (libwww had none; RFC 9110 §9.3.6 CONNECT and §7.8 Upgrade): once
// the head that switches protocols is written, the client's socket and an
// upstream socket are joined both ways and bytes flow untouched. What each
// side sent ahead (the client's bytes after its request, the upstream's
// bytes after its 101) goes first. Each direction ends on its own (a FIN is
// passed on as a FIN: half-close), with backpressure (a slow reader pauses
// the other side); an error or a reset on either side destroys both. A
// tunnel silent both ways for its idle timeout is closed (ProxyBodyTimeout,
// as nginx's proxy_read_timeout bounds a WebSocket), both sockets with it.

import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** Tunnels open now, for tests and stats. */
export const tunnels = { open: 0 };

/**
 * Joins `client` and `upstream`. `toUpstream` and `toClient` are the bytes
 * each side already sent, written before anything else. Both sockets may
 * come paused; piping starts them. `idleTimeout` ms without a byte either
 * way closes both (0: never).
 */
export function joinSockets(client: Duplex, upstream: Socket, toUpstream: Buffer, toClient: Buffer, idleTimeout = 0): void {
  tunnels.open++;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  const close = (): void => {
    if (closed) return;
    closed = true;
    tunnels.open--;
    if (timer !== null) clearTimeout(timer);
    client.destroy();
    upstream.destroy();
  };
  // A socket that is gone (reset, error, or both directions over) takes the other with it.
  client.on('error', close);
  upstream.on('error', close);
  client.once('close', close);
  upstream.once('close', close);
  if (client.destroyed || upstream.destroyed) return close();
  if (toUpstream.length > 0) upstream.write(toUpstream);
  if (toClient.length > 0) client.write(toClient);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  if (idleTimeout <= 0) return;
  // One timer for both directions, re-armed for what is left when it finds bytes moved since.
  let last = Date.now();
  const moved = (): void => {
    last = Date.now();
  };
  const check = (): void => {
    const idle = Date.now() - last;
    if (idle >= idleTimeout) close();
    else timer = setTimeout(check, idleTimeout - idle);
  };
  client.on('data', moved);
  upstream.on('data', moved);
  timer = setTimeout(check, idleTimeout);
}
