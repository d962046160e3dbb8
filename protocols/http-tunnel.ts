// Tunnels (libwww had none; RFC 9110 §9.3.6 CONNECT and §7.8 Upgrade): once
// the head that switches protocols is written, the client's socket and an
// upstream socket are joined both ways and bytes flow untouched. What each
// side sent ahead (the client's bytes after its request, the upstream's
// bytes after its 101) goes first. Each direction ends on its own (a FIN is
// passed on as a FIN: half-close), with backpressure (a slow reader pauses
// the other side); an error or a reset on either side destroys both.

import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** Tunnels open now, for tests and stats. */
export const tunnels = { open: 0 };

/**
 * Joins `client` and `upstream`. `toUpstream` and `toClient` are the bytes
 * each side already sent, written before anything else. Both sockets may
 * come paused; piping starts them.
 */
export function joinSockets(client: Duplex, upstream: Socket, toUpstream: Buffer, toClient: Buffer): void {
  tunnels.open++;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    tunnels.open--;
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
}
