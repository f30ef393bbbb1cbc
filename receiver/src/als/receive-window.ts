// The HTTP/2 receive window the ALS server grants each sidecar connection. grpc-js servers keep Node's
// 64 KiB (per stream and per connection) and have no option for it: a sidecar can then have about two
// 50-entry messages in flight, and the receiver sat idle ~35 % of a run waiting for the next bytes after
// each WINDOW_UPDATE (BENCHMARKS.md, round 3). Every session the server accepts gets a larger window, in
// its SETTINGS (each stream) and on the connection. What a paused stream may hold grows with it: at most
// this many bytes per open stream, on top of grpc-js's read buffer.
import type * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** HTTP/2's own initial window (RFC 9113), what Node and grpc-js grant. */
export const HTTP2_DEFAULT_WINDOW = 65_535;

/**
 * Gives every session `server` accepts from now on a receive window of `bytes`. Call after bind. Reaches
 * into grpc-js's private list of its HTTP/2 servers (there is no public hook), and says so if it moved.
 */
export function widenReceiveWindows(server: grpc.Server, bytes: number): void {
  if (bytes <= HTTP2_DEFAULT_WINDOW) return;
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error('grpc-js no longer keeps its HTTP/2 servers in Server.http2Servers: the ALS receive window cannot be set (see receive-window.ts)');
  }
  for (const h2 of servers.keys() as IterableIterator<http2.Http2Server>) {
    h2.on('session', (session: http2.ServerHttp2Session) => {
      if (session.destroyed) return;
      session.settings({ initialWindowSize: bytes });
      session.setLocalWindowSize(bytes);
    });
  }
}
