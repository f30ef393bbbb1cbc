import { strict as assert } from 'node:assert';
import { HYBRID_BOUTIQUE, validateModel, type BoutiqueModel } from '../../receiver/src/replay/boutique-model';
import { Prng } from '../../receiver/src/replay/prng';
import { BoutiqueTraffic, sidecarsOf } from '../../receiver/src/replay/traffic';
import { VM_SERVICES } from './expected-mesh';

describe('the replayer\'s model of the hybrid Online Boutique', () => {
  it('puts on VMs exactly the services the stack runs on VMs', () => {
    const vms = sidecarsOf(HYBRID_BOUTIQUE).filter((s) => s.workload.kind === 'vm').map((s) => s.service).sort();
    assert.deepEqual(vms, [...VM_SERVICES].sort());
  });

  it('gives every sidecar its own node id and address', () => {
    const sidecars = sidecarsOf(HYBRID_BOUTIQUE);
    assert.equal(new Set(sidecars.map((s) => s.id)).size, sidecars.length);
    assert.equal(new Set(sidecars.map((s) => s.workload.ip)).size, sidecars.length);
  });

  it('has sidecars logging each peer metadata form: FlatNode, Struct, and both', () => {
    const encodings = new Set(sidecarsOf(HYBRID_BOUTIQUE).map((s) => s.encoding));
    assert.deepEqual([...encodings].sort(), ['both', 'flatnode', 'struct']);
  });

  it('passes its own validation', () => {
    assert.doesNotThrow(() => validateModel(HYBRID_BOUTIQUE));
  });

  const broken = (change: (m: { -readonly [K in keyof BoutiqueModel]: BoutiqueModel[K] }) => void): BoutiqueModel => {
    const m = { ...HYBRID_BOUTIQUE, placement: { ...HYBRID_BOUTIQUE.placement }, traffic: { ...HYBRID_BOUTIQUE.traffic } };
    change(m as never);
    return m;
  };

  it('refuses a model missing the traffic of an edge, naming the edge', () => {
    const m = broken((x) => { delete (x.traffic as Record<string, unknown>)['checkoutservice->paymentservice']; });
    assert.throws(() => validateModel(m), /edge checkoutservice->paymentservice has no traffic profile/);
  });

  it('refuses traffic on an edge the call graph does not have, naming it', () => {
    const m = broken((x) => { (x.traffic as Record<string, unknown>)['paymentservice->frontend'] = HYBRID_BOUTIQUE.traffic['frontend->adservice']; });
    assert.throws(() => validateModel(m), /traffic profile for paymentservice->frontend, which is not an edge of the graph/);
  });

  it('refuses a service without a placement, naming it', () => {
    const m = broken((x) => { delete (x.placement as Record<string, unknown>).adservice; });
    assert.throws(() => validateModel(m), /service "adservice" has no placement/);
  });

  it('refuses a VM with more than one replica', () => {
    const m = broken((x) => { (x.placement as Record<string, unknown>).paymentservice = { platform: 'vm', replicas: 2, istio: 'legacy' }; });
    assert.throws(() => validateModel(m), /"paymentservice" has 2 replicas; allowed: a whole number >= 1 for pods, 1 for a VM/);
  });

  it('refuses a latency whose p95 is below its median', () => {
    const m = broken((x) => {
      (x.traffic as Record<string, unknown>)['frontend->adservice'] = { ...HYBRID_BOUTIQUE.traffic['frontend->adservice']!, latencyMs: { median: 5, p95: 2 } };
    });
    assert.throws(() => validateModel(m), /frontend->adservice: latency median 5 ms, p95 2 ms/);
  });
});

describe('the replayer\'s seeded generator', () => {
  it('draws the same numbers from the same seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const draws = (p: Prng) => Array.from({ length: 50 }, () => p.next());
    assert.deepEqual(draws(a), draws(b));
  });

  it('draws other numbers from another seed', () => {
    assert.notDeepEqual(new Prng(1).next(), new Prng(2).next());
  });

  it('refuses a seed that is not a 32-bit whole number, saying what is allowed', () => {
    assert.throws(() => new Prng(-1), /invalid seed -1; allowed: a whole number from 0 to 4294967295/);
    assert.throws(() => new Prng(1.5), /invalid seed 1.5/);
  });

  it('draws log-normal latencies around the median with the given p95', () => {
    const p = new Prng(7);
    const xs = Array.from({ length: 20_000 }, () => p.logNormal(10, 40)).sort((a, b) => a - b);
    assert.ok(Math.abs(xs[10_000]! - 10) < 0.5, `median ${xs[10_000]}`);
    assert.ok(Math.abs(xs[19_000]! - 40) < 3, `p95 ${xs[19_000]}`);
  });

  it('logs each failure on the sidecars that saw it: resets on the server side, refusals and timeouts on the client side', () => {
    const t = new BoutiqueTraffic(9);
    const flagged = new Map<string, Set<string>>();
    for (let i = 0; i < 1500; i++) {
      for (const e of t.userAction(1_764_072_000_000 + i * 100)) {
        const cp = e.entry.common_properties!;
        const side = cp.upstream_cluster!.startsWith('inbound|') ? 'server' : 'client';
        for (const flag of Object.keys(cp.response_flags ?? {})) {
          if (!flagged.has(flag)) flagged.set(flag, new Set());
          flagged.get(flag)!.add(side);
        }
      }
    }
    assert.deepEqual(Object.fromEntries([...flagged].map(([f, sides]) => [f, [...sides]]).sort()), {
      no_healthy_upstream: ['client'],
      upstream_connection_failure: ['client'],
      upstream_connection_termination: ['server'],
      upstream_request_timeout: ['client'],
    });
  });

  it('generates the same entries for the same seed and start, and others for another seed', () => {
    const run = (seed: number) => {
      const t = new BoutiqueTraffic(seed);
      return JSON.stringify(Array.from({ length: 5 }, (_, i) => t.userAction(1_764_072_000_000 + i * 100)).flat()
        .map((e) => ({ id: e.sidecar.id, at: e.at, entry: e.entry })));
    };
    assert.equal(run(3), run(3));
    assert.notEqual(run(3), run(4));
  });
});
