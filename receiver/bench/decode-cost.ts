// Decoding alone, for instruction counts: decodes N of the bench's ALS messages (50 entries each) with
// the receiver's decoder (`fast`) or the reference (`reference`: proto-loader decode + toObject).
// Count with callgrind at two sizes and take the difference, which leaves out startup:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --import tsx receiver/bench/decode-cost.ts fast 500
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --import tsx receiver/bench/decode-cost.ts fast 2500
// (2,000 messages apart: instructions per entry = difference / 100,000).
import { StreamTraffic } from './traffic';

const { alsDecoders } = require('../dist/als/envoy-protos') as typeof import('../src/als/envoy-protos');

const [which, count] = process.argv.slice(2);
const decoders = alsDecoders();
const decode = which === 'fast' ? decoders.fast.decode : which === 'reference' ? decoders.reference : undefined;
const n = Number(count);
if (!decode || !Number.isInteger(n) || n < 1) throw new Error('usage: decode-cost.ts fast|reference MESSAGES');
const traffic = new StreamTraffic(0, { streams: 4, batch: 50, tcpShare: 0.2, templates: 5 });
const messages = Array.from({ length: 5 }, () => traffic.take());
let entries = 0;
for (let i = 0; i < n; i++) {
  const m = decode(messages[i % messages.length]!);
  entries += (m.http_logs?.log_entry ?? m.tcp_logs?.log_entry ?? []).length;
}
process.stdout.write(`${which}: ${entries} entries decoded\n`);
