// The little protocol between the bench driver and its child processes (Node IPC channel): a child says
// `ready` with its port, then answers each `poll` with its counts and, on `final`, its latency histogram.
export interface ChildReady { type: 'ready'; port: number }
export interface ChildStats {
  type: 'stats';
  /** What this process counts as delivered: entries decoded (noop), metrics at the peer, metrics into the memory sink. */
  delivered: number;
  /** Receiver only: its own accounting, read from its Prometheus registry. */
  totals?: { received: number; produced: number; forwarded: number; dropped: Record<string, number>; pausedNow: number; pauses: number };
  latency?: [number, number][];
  /** The process's event loop so far (performance.eventLoopUtilization): ms busy and ms idle. */
  loop?: { active: number; idle: number };
  /** Single receiver only: process.memoryUsage() sampled over the run, in MB (V8's heap; Buffers' memory). */
  memory?: { heapTotalMax: number; arrayBuffersMin: number; arrayBuffersMax: number };
}
export type ChildMessage = ChildReady | ChildStats;
export interface DriverMessage { type: 'poll'; final: boolean }

/** Wires a child's answers to polls; `stats(final)` builds the answer. */
export function serveStats(stats: (final: boolean) => Promise<ChildStats> | ChildStats): void {
  process.on('message', (m: DriverMessage) => {
    if (m.type !== 'poll') return;
    Promise.resolve(stats(m.final)).then((s) => process.send!(s));
  });
  // The driver going away ends the child too, so no bench process outlives a crashed run.
  process.on('disconnect', () => process.exit(0));
}

export function announce(port: number): void {
  process.send!({ type: 'ready', port } satisfies ChildReady);
}
