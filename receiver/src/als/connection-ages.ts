// The ALS connections the receiver accepted, and when each has outlived its maximum age. grpc-js sends
// the GOAWAY itself (`grpc.max_connection_age_ms`, jittered ±10 %) but tells nobody, and a sidecar's
// ALS stream outlives a GOAWAY: Envoy only opens its *next* stream on a new connection. So the receiver
// keeps each connection's accept time (it accepts the sockets itself and hands them to grpc-js) and,
// once the latest jittered GOAWAY has surely gone (1.1 × age), says so: the server then ends that
// connection's streams at a message boundary, before grpc-js closes the connection at 0.9 × age + grace
// at the earliest (config.ts requires grace ≥ age / 5 for that).
import type { Socket } from 'node:net';

/** grpc-js's GOAWAY comes at age × (1 ± JITTER) (server.ts, `jitterMagnitude = maxConnectionAgeMs / 10`). */
export const GRPC_AGE_JITTER = 0.1;

/** The peer string grpc-js gives a call on this socket (`call.getPeer()`): address:port. */
export function peerOf(socket: Pick<Socket, 'remoteAddress' | 'remotePort'>): string {
  return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : String(socket.remoteAddress);
}

export interface ConnectionEvents {
  opened(peer: string): void;
  /** The connection is past its age and its GOAWAY: its streams should end. */
  aged(peer: string): void;
  closed(peer: string): void;
}

export class ConnectionAges {
  private readonly open = new Map<string, { at: number; timer: NodeJS.Timeout | undefined; aged: boolean }>();

  constructor(private readonly maxAgeMs: number, private readonly events: ConnectionEvents) {}

  get size(): number {
    return this.open.size;
  }

  track(socket: Socket): void {
    const peer = peerOf(socket);
    const entry = { at: Date.now(), timer: undefined as NodeJS.Timeout | undefined, aged: false };
    if (this.maxAgeMs > 0) {
      entry.timer = setTimeout(() => {
        entry.aged = true;
        this.events.aged(peer);
      }, Math.ceil(this.maxAgeMs * (1 + GRPC_AGE_JITTER)));
      entry.timer.unref();
    }
    this.open.set(peer, entry);
    this.events.opened(peer);
    socket.once('close', () => {
      clearTimeout(entry.timer);
      if (this.open.get(peer) === entry) this.open.delete(peer);
      this.events.closed(peer);
    });
  }

  /** True once the connection of `peer` is past its age (its streams should end). */
  isAged(peer: string): boolean {
    return this.open.get(peer)?.aged ?? false;
  }

  clear(): void {
    for (const e of this.open.values()) clearTimeout(e.timer);
  }
}
