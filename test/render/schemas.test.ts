// Every object the stack applies, checked against the schema the API server would use: Kubernetes' own
// types (kubernetes-models) and Istio's custom resources (the CRDs the stack's own base chart installs).
import { strict as assert } from 'node:assert';
import type { K8sObject } from '../../tools/render-stack';
import { validatorFor } from '../../tools/validate-objects';
import { find, objectsOf, rendered, STACKS } from './rendered';

for (const stack of STACKS) {
  describe(`rendered schemas (${stack})`, () => {
    it('validates every object, the charts\' and the program\'s own, against its schema', async () => {
      const objects = objectsOf(await rendered(stack));
      assert.deepEqual(validatorFor(objects).checkAll(objects), []);
    });

    it('validates the Istio objects against the CRDs of the pinned Istio release', async () => {
      const objects = objectsOf(await rendered(stack));
      const istio = objects.filter((o) => o.apiVersion.startsWith('networking.istio.io/'));
      assert.deepEqual([...new Set(istio.map((o) => o.kind))].sort(), ['Gateway', 'VirtualService', 'WorkloadEntry', 'WorkloadGroup']);
      assert.deepEqual(validatorFor(objects).checkAll(istio), []);
    });
  });
}

describe('the schema check itself', () => {
  // Mutations a typo would make: each must be refused, or a green schema test would mean nothing.
  const broken: [string, (o: K8sObject) => K8sObject, string, string, string][] = [
    ['a WorkloadEntry whose address is a number', (o) => ({ ...o, spec: { ...(o.spec as object), address: 10 } }), 'WorkloadEntry', 'boutique', 'checkoutservice'],
    ['a Gateway server whose port number is text', (o) => {
      const spec = o.spec as { servers: { port: object }[] };
      return { ...o, spec: { ...spec, servers: [{ ...spec.servers[0], port: { ...spec.servers[0].port, number: 'x' } }] } };
    }, 'Gateway', 'istio-system', 'istiod-gateway'],
    ['a Deployment container whose port is text', (o) => {
      const spec = o.spec as { template: { spec: { containers: { ports: object[] }[] } } };
      const c = spec.template.spec.containers[0];
      return { ...o, spec: { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, containers: [{ ...c, ports: [{ containerPort: '80' }] }] } } } };
    }, 'Deployment', 'boutique', 'frontend'],
    ['a Service port with no port number', (o) => ({ ...o, spec: { ...(o.spec as object), ports: [{ name: 'http' }] } }), 'Service', 'boutique', 'frontend'],
  ];
  for (const [what, mutate, kind, ns, name] of broken) {
    it(`refuses ${what}`, async () => {
      const r = await rendered('dev');
      const objects = objectsOf(r);
      const original = find(r, kind, ns, name)!;
      assert.deepEqual(validatorFor(objects).check(original), []);
      assert.notDeepEqual(validatorFor(objects).check(mutate(original)), []);
    });
  }

  it('refuses a kind no schema knows instead of passing it', async () => {
    const objects = objectsOf(await rendered('dev'));
    const problems = validatorFor(objects).check({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    assert.match(problems[0].message, /no schema knows this kind/);
  });
});
