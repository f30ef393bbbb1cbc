// The anchors (a0) and (a) grant the same HTTP/2 receive window as the receiver under test, when the bench
// passes one (--receive-window BYTES), so the comparison is of the work, not of the flow control.
import type * as grpc from '@grpc/grpc-js';

/** Call after bind. Loads the receiver's own code from its build, as the receiver under test runs it. */
export function widenLikeTheReceiver(server: grpc.Server, argv: readonly string[] = process.argv): void {
  const at = argv.indexOf('--receive-window');
  if (at < 0) return;
  const { widenReceiveWindows } = require('../dist/als/receive-window') as typeof import('../src/als/receive-window');
  widenReceiveWindows(server, Number(argv[at + 1]));
}
