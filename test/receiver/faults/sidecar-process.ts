// A sidecar in a process of its own, for the test that kills one mid-stream: it opens a StreamAccessLogs
// stream to 127.0.0.1:PORT, sends COUNT messages of one entry each, prints "sent", and waits to be killed.
import * as grpc from '@grpc/grpc-js';
import { nodeOf } from '../../fixtures/mesh-fixtures';
import { AlsStream } from '../harness';
import { FRONTEND, taggedEntries } from './fault-harness';

const [port, count] = process.argv.slice(2).map(Number);
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const s = new AlsStream(client);
for (let i = 0; i < count!; i++) {
  s.send({ identifier: i === 0 ? { node: nodeOf(FRONTEND), log_name: 'als' } : undefined, http_logs: { log_entry: taggedEntries(`killed${i}`, 1) } });
}
s.call.once('drain', () => undefined);
setTimeout(() => process.stdout.write('sent\n'), 100);
setInterval(() => undefined, 60_000);
