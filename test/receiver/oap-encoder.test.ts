import { strict as assert } from 'node:assert';
import { BatchEncoder, type Batch } from '../../receiver/src/sinks/oap-encoder';
import { BatchQueue, Capacity, type EncodedBatch } from '../../receiver/src/sinks/batch-queue';
import {
  meshMetricServiceDefinition, meshMetricsEncoder, type EncodableServiceMeshMetrics, type HttpMeshMetricWire, type KeyStringValuePair,
  type ServiceMeshMetricsWire, type TcpMeshMetricWire,
} from '../../receiver/src/sinks/skywalking-protos';
import type { HttpMeshMetric, TcpMeshMetric } from '../../receiver/src/analysis/mesh-metric';
import type { Int64 } from '../../receiver/src/analysis/int64';
import { exactMeshMetricServiceDefinition, httpMetric, tcpMetric } from './harness';

// The oap sink writes the collect request's bytes itself (BatchEncoder). These tests hold it to the
// .proto: what it writes must decode, with the proto as the OAP peer decodes it, to exactly the metrics
// given, and must be the bytes protobufjs's own encoder writes for the same message.

function pairs(props: Record<string, string>): KeyStringValuePair[] {
  const out: KeyStringValuePair[] = [];
  for (const key in props) out.push({ key, value: props[key]! });
  return out;
}

/** An int64 as the wire types carry it: a number, or (exact mode, or beyond 2^53) its decimal digits. */
type Long64 = (v: Int64) => number | string;
const asNumber: Long64 = (v) => (typeof v === 'bigint' ? String(v) : v);
const asString: Long64 = (v) => String(v);

function httpWire(m: HttpMeshMetric, l: Long64 = asNumber): HttpMeshMetricWire {
  return {
    startTime: l(m.startTime) as number, endTime: l(m.endTime) as number,
    sourceServiceName: m.sourceServiceName, sourceServiceInstance: m.sourceServiceInstance,
    destServiceName: m.destServiceName, destServiceInstance: m.destServiceInstance,
    endpoint: m.endpoint, latency: m.latency, responseCode: m.responseCode, status: m.status,
    protocol: m.protocol, detectPoint: m.detectPoint, tlsMode: m.tlsMode, internalErrorCode: m.internalErrorCode,
    internalRequestLatencyNanos: l(m.internalRequestLatencyNanos), internalResponseLatencyNanos: l(m.internalResponseLatencyNanos),
    sourceInstanceProperties: pairs(m.sourceInstanceProperties), destInstanceProperties: pairs(m.destInstanceProperties),
  };
}

function tcpWire(m: TcpMeshMetric, l: Long64 = asNumber): TcpMeshMetricWire {
  return {
    startTime: l(m.startTime) as number, endTime: l(m.endTime) as number,
    sourceServiceName: m.sourceServiceName, sourceServiceInstance: m.sourceServiceInstance,
    destServiceName: m.destServiceName, destServiceInstance: m.destServiceInstance,
    detectPoint: m.detectPoint, tlsMode: m.tlsMode, internalErrorCode: m.internalErrorCode,
    internalRequestLatencyNanos: l(m.internalRequestLatencyNanos), internalResponseLatencyNanos: l(m.internalResponseLatencyNanos),
    sourceInstanceProperties: pairs(m.sourceInstanceProperties), destInstanceProperties: pairs(m.destInstanceProperties),
    receivedBytes: l(m.receivedBytes), sentBytes: l(m.sentBytes),
  };
}

/** The mapping the encoder must implement, spelled out field by field: one ServiceMeshMetrics message. */
function toWire(b: Batch, l: Long64 = asNumber): ServiceMeshMetricsWire {
  return b.kind === 'http'
    ? { httpMetrics: { metrics: b.metrics.map((m) => httpWire(m, l)) } }
    : { tcpMetrics: { metrics: b.metrics.map((m) => tcpWire(m, l)) } };
}

const decode = meshMetricServiceDefinition().collect!.requestDeserialize as (b: Buffer) => ServiceMeshMetricsWire;
/** The same proto decoded with 64-bit integers as exact decimal strings (as an OAP's Java long holds them). */
const decodeExact = exactMeshMetricServiceDefinition().collect!.requestDeserialize as (b: Buffer) => ServiceMeshMetricsWire;
const reference = meshMetricsEncoder();

/** protobufjs's encoding of the same batch: toWire's mapping with the enums as their numbers. */
function referenceBytes(b: Batch): Buffer {
  const wire = toWire(b);
  const { protocol, detectPoint } = reference.enumNumbers;
  const msg: EncodableServiceMeshMetrics = wire.httpMetrics
    ? { httpMetrics: { metrics: wire.httpMetrics.metrics.map((m) => ({ ...m, protocol: protocol[m.protocol], detectPoint: detectPoint[m.detectPoint] })) } }
    : { tcpMetrics: { metrics: wire.tcpMetrics!.metrics.map((m) => ({ ...m, detectPoint: detectPoint[m.detectPoint] })) } };
  return reference.encode(msg);
}

/** The decoded message's metric list, next to the one expected from toWire (the sink's mapping). */
function decodedAndExpected(b: Batch, bytes: Buffer, exact = false): [unknown, unknown] {
  const got = exact ? decodeExact(bytes) : decode(bytes);
  const want = toWire(b, exact ? asString : asNumber);
  return b.kind === 'http' ? [got.httpMetrics?.metrics, want.httpMetrics!.metrics] : [got.tcpMetrics?.metrics, want.tcpMetrics!.metrics];
}

const INT32_MAX = 2 ** 31 - 1;
const shared = { namespace: 'default', cluster: 'gke-1', platform: 'kubernetes' };

const CASES: { name: string; batch: Batch; exact?: boolean }[] = [
  { name: 'an HTTP metric with every field set', batch: { kind: 'http', metrics: [httpMetric({
    endpoint: '/cart?id=42', latency: 250, responseCode: 503, status: false, protocol: 'HTTP', detectPoint: 'server',
    tlsMode: 'NONE', internalErrorCode: 'upstream_connection_failure', internalRequestLatencyNanos: 1_500_000,
    internalResponseLatencyNanos: 2_700_000, sourceInstanceProperties: shared, destInstanceProperties: { platform: 'vm', zone: 'europe-west1-b' },
  })] } },
  { name: 'a TCP metric with every field set', batch: { kind: 'tcp', metrics: [tcpMetric({
    detectPoint: 'proxy', tlsMode: 'TLS', internalErrorCode: 'stream_idle_timeout', internalRequestLatencyNanos: 9,
    internalResponseLatencyNanos: 11, sourceInstanceProperties: shared, destInstanceProperties: { platform: 'unknown' },
  })] } },
  { name: 'empty strings, zeros and empty property lists', batch: { kind: 'http', metrics: [httpMetric({
    startTime: 0, endTime: 0, sourceServiceName: '', sourceServiceInstance: '', destServiceName: '', destServiceInstance: '',
    endpoint: '', latency: 0, responseCode: 0, status: false, protocol: 'HTTP', detectPoint: 'client', internalErrorCode: '',
    sourceInstanceProperties: {}, destInstanceProperties: {},
  })] } },
  { name: 'the largest numbers each field carries here (int64 up to 2^53 - 1, int32 up to 2^31 - 1)', batch: { kind: 'tcp', metrics: [tcpMetric({
    startTime: Number.MAX_SAFE_INTEGER, endTime: Number.MAX_SAFE_INTEGER - 1, internalRequestLatencyNanos: 2 ** 40 + 3,
    internalResponseLatencyNanos: 2 ** 32, receivedBytes: 2 ** 31, sentBytes: 5_000_000_000_123,
  })] } },
  // The protocol's counts are int64: 2^63 - 1 is the largest an OAP reads back as written.
  { name: 'byte counts and nanoseconds beyond 2^53, up to the int64 limit 2^63 - 1, exactly', exact: true, batch: { kind: 'tcp', metrics: [tcpMetric({
    receivedBytes: 2n ** 63n - 1n, sentBytes: 2n ** 53n + 1n, internalRequestLatencyNanos: 2n ** 63n - 1n,
    internalResponseLatencyNanos: 9_007_199_254_740_993n,
  })] } },
  { name: 'an HTTP metric with int64 nanoseconds beyond 2^53, exactly', exact: true, batch: { kind: 'http', metrics: [httpMetric({
    internalRequestLatencyNanos: 123_456_789_012_345_678n, internalResponseLatencyNanos: 2n ** 62n + 7n,
  })] } },
  { name: 'HTTP int32 fields at their limits, negative included', batch: { kind: 'http', metrics: [
    httpMetric({ latency: INT32_MAX, responseCode: INT32_MAX }), httpMetric({ latency: -1, responseCode: -(2 ** 31) }),
  ] } },
  { name: 'multi-byte UTF-8 in names, endpoint and properties', batch: { kind: 'http', metrics: [httpMetric({
    sourceServiceName: 'kasse-ü.default', destServiceInstance: '服务-0.默认', endpoint: '/emoji/😀',
    sourceInstanceProperties: { 'clé': 'välue', 'κλειδί': '' },
  })] } },
  { name: 'a batch where pairs, endpoints and property maps repeat and differ', batch: { kind: 'http', metrics: Array.from({ length: 40 }, (_, i) => httpMetric({
    startTime: 1_700_000_000_000 + i, sourceServiceInstance: `frontend-${i % 3}.default`, endpoint: `/path/${i % 5}`,
    detectPoint: i % 2 ? 'server' : 'client', sourceInstanceProperties: i % 4 ? shared : { platform: 'vm' }, latency: 1 + i,
  })) } },
];

describe('the oap sink\'s collect request encoder', () => {
  for (const c of CASES) {
    it(`writes ${c.name} so that it decodes to exactly those metrics`, () => {
      const [got, want] = decodedAndExpected(c.batch, new BatchEncoder().encode(c.batch), c.exact);
      assert.deepStrictEqual(got, want);
    });
    it(`writes ${c.name} as the same bytes as protobufjs's encoder`, () => {
      assert.deepStrictEqual(new BatchEncoder().encode(c.batch), referenceBytes(c.batch));
    });
  }

  it('writes the same bytes again from its caches for metrics it has seen', () => {
    const encoder = new BatchEncoder();
    const batch = CASES.at(-1)!.batch;
    const first = encoder.encode(batch);
    assert.deepStrictEqual(encoder.encode(batch), first);
  });

  it('stays correct after its bounded caches start over (more distinct names and endpoints than they hold)', () => {
    const encoder = new BatchEncoder();
    for (let round = 0; round < 25; round++) {
      const metrics: (HttpMeshMetric | TcpMeshMetric)[] = Array.from({ length: 500 }, (_, i) => httpMetric({
        endpoint: `/orders/${round * 500 + i}`, destServiceInstance: `pod-${round * 500 + i}.default`,
      }));
      const batch = { kind: 'http', metrics } as Batch;
      assert.deepStrictEqual(encoder.encode(batch), referenceBytes(batch), `round ${round}`);
    }
  });

  it('writes HTTP and TCP batches alternately with one encoder, each as protobufjs does', () => {
    const encoder = new BatchEncoder();
    for (const c of [...CASES, ...CASES]) assert.deepStrictEqual(encoder.encode(c.batch), referenceBytes(c.batch), c.name);
  });
});

describe('the oap sink\'s queue of encoded batches', () => {
  // Metrics of varied sizes (names, endpoints, properties), so batches do not line up with buffer sizes.
  const metric = (i: number): HttpMeshMetric => httpMetric({
    sourceServiceName: `svc-${i % 7}.default`, endpoint: `/api/${'x'.repeat(i % 300)}/${i}`, latency: i,
    sourceInstanceProperties: i % 3 ? { platform: 'kubernetes', pod: `p-${i}` } : {},
  });
  const queue = (limit: number, batchSize: number) => {
    const capacity = new Capacity(limit);
    return { capacity, q: new BatchQueue('http', capacity, batchSize, new BatchEncoder()) };
  };
  /** A checked-out batch's bytes, compared with protobufjs's for the metrics it should hold. */
  const expectBatch = (q: BatchQueue, b: EncodedBatch, metrics: HttpMeshMetric[], label: string) => {
    assert.equal(b.count, metrics.length, label);
    assert.deepStrictEqual(q.frame(b), referenceBytes({ kind: 'http', metrics }), label);
  };

  it('sends what it was given, in order, batch by batch, as protobufjs encodes each batch', () => {
    const { q, capacity } = queue(10_000, 50);
    const all = Array.from({ length: 1234 }, (_, i) => metric(i));
    for (const m of all) assert.ok(q.push(m));
    assert.equal(q.length, 1234);
    assert.equal(capacity.used, 1234);
    for (let at = 0; at < all.length; at += 50) {
      const b = q.checkout()!;
      expectBatch(q, b, all.slice(at, at + 50), `batch at ${at}`);
      q.release(b);
    }
    assert.equal(q.checkout(), undefined);
    assert.equal(capacity.used, 0);
  });

  it('refuses metrics beyond its capacity, which counts what is checked out until released', () => {
    const { q, capacity } = queue(120, 50);
    let accepted = 0;
    for (let i = 0; i < 200; i++) if (q.push(metric(i))) accepted++;
    assert.equal(accepted, 120);
    const b = q.checkout()!;
    assert.equal(q.push(metric(999)), false, 'a checked-out batch keeps its room');
    q.release(b);
    assert.equal(capacity.used, 70);
    assert.ok(q.push(metric(999)));
  });

  it('seals a short batch to send it, puts failed batches back at the head, and joins short ones again', () => {
    const { q } = queue(10_000, 50);
    const all = Array.from({ length: 200 }, (_, i) => metric(i));
    // Three flushes of a few metrics each (a quiet mesh, an OAP away): three short batches.
    const short: EncodedBatch[] = [];
    for (const [from, to] of [[0, 5], [5, 30], [30, 40]] as const) {
      for (const m of all.slice(from, to)) q.push(m);
      short.push(q.checkout()!);
    }
    for (const m of all.slice(40, 100)) q.push(m);
    q.putBack(short);
    assert.equal(q.length, 100);
    // 5 + 25 + 10 fit in one batch of 50; the next full batch follows.
    const joined = q.checkout()!;
    expectBatch(q, joined, all.slice(0, 40), 'the three short batches joined');
    expectBatch(q, q.checkout()!, all.slice(40, 90), 'the next full batch');
    expectBatch(q, q.checkout()!, all.slice(90, 100), 'the rest');
  });

  it('writes new batches into the buffers of delivered ones without touching batches still out', () => {
    const { q } = queue(10_000, 20);
    const all = Array.from({ length: 400 }, (_, i) => metric(i));
    for (const m of all.slice(0, 40)) q.push(m);
    const first = q.checkout()!;
    const second = q.checkout()!;
    const secondBytes = Buffer.from(q.frame(second));
    q.release(first); // its buffer is reused for what comes next
    for (const m of all.slice(40, 400)) q.push(m);
    assert.deepStrictEqual(q.frame(second), secondBytes, 'the batch still in flight is unchanged');
    for (let at = 40; at < 400; at += 20) {
      const b = q.checkout()!;
      expectBatch(q, b, all.slice(at, at + 20), `batch at ${at}`);
      q.release(b);
    }
  });

  it('checks out only whole batches unless asked for the one still being written (a flush)', () => {
    const { q } = queue(10_000, 20);
    const all = Array.from({ length: 30 }, (_, i) => metric(i));
    for (const m of all) q.push(m);
    expectBatch(q, q.checkout(false)!, all.slice(0, 20), 'the whole batch');
    assert.equal(q.checkout(false), undefined, 'the batch being written stays');
    assert.equal(q.length, 10);
    expectBatch(q, q.checkout(true)!, all.slice(20, 30), 'sealed for a flush');
    assert.equal(q.checkout(true), undefined);
  });

  it('reuses a delivered batch\'s buffer only for batches of about its size: once the metrics shrink, a steady flow allocates nothing', () => {
    const { q } = queue(100_000, 50);
    const big = (i: number) => httpMetric({ endpoint: `/big/${'y'.repeat(1500)}/${i}`, latency: i });
    const small = (i: number) => httpMetric({ endpoint: `/s/${i}`, latency: i });
    // Large metrics first, so their batches' buffers are large; they come back while small ones flow.
    for (let i = 0; i < 100; i++) q.push(big(i));
    const bigBatches = [q.checkout(false)!, q.checkout(false)!];
    const bigBuffers = new Set(bigBatches.map((b) => b.buf.buffer));
    for (let i = 0; i < 50; i++) q.push(small(i));
    const firstSmall = q.checkout(false)!;
    for (const b of [...bigBatches, firstSmall]) q.release(b);
    const allocUnsafe = Buffer.allocUnsafe;
    let allocations = 0;
    Buffer.allocUnsafe = (n: number) => { if (n >= 1024) allocations++; return allocUnsafe(n); };
    try {
      for (let round = 0; round < 8; round++) {
        if (round === 2) allocations = 0; // from here on, the buffers in use are enough
        const metrics = Array.from({ length: 50 }, (_, i) => small(50 + round * 50 + i));
        for (const m of metrics) q.push(m);
        const b = q.checkout(false)!;
        expectBatch(q, b, metrics, `round ${round}`);
        assert.ok(!bigBuffers.has(b.buf.buffer), `round ${round}: not written into a large batch's buffer`);
        assert.ok(b.buf.length <= 2 * b.end, `round ${round}: a buffer of ${b.buf.length} bytes for ${b.end}`);
        q.release(b);
      }
    } finally {
      Buffer.allocUnsafe = allocUnsafe;
    }
    assert.equal(allocations, 0, 'buffers allocated in rounds 2-7');
  });

  it('drops everything waiting on clear, and gives its room back', () => {
    const { q, capacity } = queue(1000, 50);
    for (let i = 0; i < 120; i++) q.push(metric(i));
    const out = q.checkout()!;
    assert.equal(q.clear(), 70);
    assert.equal(capacity.used, 50, 'only the batch checked out keeps its room');
    q.release(out);
    assert.equal(q.checkout(), undefined);
  });
});
