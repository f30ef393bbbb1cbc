// What the API server accepts but the cluster then gets wrong: facts about the rendered workloads as
// controllers and kubelets would act on them.
import { strict as assert } from 'node:assert';
import { objectsOf, podTemplates, rendered, STACKS } from './rendered';

for (const stack of STACKS) {
  describe(`rendered workloads (${stack})`, () => {
    it('leaves spec.replicas unset on every Deployment an HPA scales, so updates do not fight the autoscaler', async () => {
      const r = await rendered(stack);
      const hpas = objectsOf(r, 'HorizontalPodAutoscaler');
      assert.ok(hpas.some((h) => h.metadata.name === 'meshscope-receiver'));
      for (const hpa of hpas) {
        const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        const scaled = objectsOf(r, target.kind).find((o) => o.metadata.name === target.name && o.metadata.namespace === hpa.metadata.namespace);
        assert.ok(scaled, `HPA ${hpa.metadata.name} targets ${target.kind} ${target.name}, which is not rendered`);
        assert.equal((scaled!.spec as { replicas?: number }).replicas, undefined, `${target.kind} ${target.name} sets replicas beside HPA ${hpa.metadata.name}`);
      }
    });

    it('sets each env var at most once per container', async () => {
      for (const p of podTemplates(await rendered(stack))) {
        for (const c of [...p.spec.containers, ...(p.spec.initContainers ?? [])]) {
          const names = (c.env ?? []).map((e) => e.name);
          assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], `${p.owner.kind} ${p.owner.metadata.name} ${c.name}`);
        }
      }
    });

    it('gives the east-west gateway the network label and the four mesh ports once, from the chart\'s networkGateway', async () => {
      const r = await rendered(stack);
      const svc = objectsOf(r, 'Service').find((s) => s.metadata.name === 'istio-eastwestgateway')!;
      assert.deepEqual((svc.spec as { ports: { port: number }[] }).ports.map((p) => p.port), [15021, 15443, 15012, 15017]);
      assert.match(svc.metadata.labels!['topology.istio.io/network'], /^meshscope-.+-network$/);
    });
  });
}
