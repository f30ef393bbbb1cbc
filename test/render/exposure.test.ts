// README's "nothing is open to 0.0.0.0/0 but the storefront", as a fact of the renders: every Service that
// takes traffic from outside the cluster's pod network (LoadBalancer, NodePort) in both stacks and both ALS
// targets, and BanyanDB as the program's values make it (HTTP Services inside the cluster, two liaison and two
// data nodes in cluster mode, FODC off).
import { strict as assert } from 'node:assert';
import { GKE_INTERNAL_LB, isPublicByDesign } from '../../policy/k8s-service-exposure';
import { BANYANDB_CLUSTER_NODES } from '../../infra/observability';
import { K8sObject } from '../../tools/render-stack';
import { objectsOf, podTemplates, rendered, renderedWithAlsTarget, STACKS } from './rendered';

const ALS_TARGETS = ['receiver', 'oap'] as const;
type Exposure = 'public' | 'internal' | 'external, not allowed' | 'NodePort';

/** Every Service reachable from outside the pod network, by how far. */
function exposed(services: K8sObject[]): Record<string, Exposure> {
  const out: Record<string, Exposure> = {};
  for (const s of services) {
    const type = (s.spec as { type?: string }).type;
    if (type !== 'LoadBalancer' && type !== 'NodePort') continue;
    const id = `${s.metadata.namespace}/${s.metadata.name}`;
    if (type === 'NodePort') out[id] = 'NodePort';
    else if (s.metadata.annotations?.[GKE_INTERNAL_LB.annotation] === GKE_INTERNAL_LB.value) out[id] = 'internal';
    else out[id] = isPublicByDesign(s.metadata.namespace, s.metadata.name) ? 'public' : 'external, not allowed';
  }
  return out;
}

const banyandb = (o: K8sObject) => o.metadata.namespace === 'skywalking' && o.metadata.labels?.['app.kubernetes.io/name'] === 'banyandb';

/** Pods of a BanyanDB role: the replicas of every workload whose pods carry that component label. */
function podsOf(objects: K8sObject[], component: string): number {
  return objects.filter((o) => banyandb(o) && ['StatefulSet', 'Deployment'].includes(o.kind)
    && (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels['app.kubernetes.io/component'] === component)
    .reduce((n, o) => n + ((o.spec as { replicas?: number }).replicas ?? 1), 0);
}

for (const stack of STACKS) {
  for (const alsTarget of ALS_TARGETS) {
    describe(`what is exposed (${stack}, ALS to ${alsTarget})`, () => {

      it('has no external load balancer but the storefront, and no NodePort', async function () {
        this.timeout(120000);
        const got = exposed(objectsOf(await renderedWithAlsTarget(stack, alsTarget), 'Service'));
        const expected: Record<string, Exposure> = {
          'boutique/frontend-external': 'public',
          'istio-system/istio-eastwestgateway': 'internal',
          'skywalking/receiver-ilb': 'internal',
          ...(alsTarget === 'oap' ? { 'skywalking/oap-ilb': 'internal' } : {}),
        };
        assert.deepEqual(got, expected);
      });
    });
  }

  describe(`BanyanDB as rendered (${stack})`, () => {
    it('serves HTTP only inside the cluster (every BanyanDB Service is a ClusterIP)', async () => {
      const services = objectsOf(await rendered(stack), 'Service').filter(banyandb);
      assert.ok(services.some((s) => s.metadata.name === 'skywalking-banyandb-http'), services.map((s) => s.metadata.name).join(', '));
      for (const s of services) assert.equal((s.spec as { type?: string }).type ?? 'ClusterIP', 'ClusterIP', s.metadata.name);
    });

    it('runs no FODC agent or proxy, and no image from ghcr.io', async () => {
      const r = await rendered(stack);
      assert.deepEqual(objectsOf(r).filter((o) => /fodc/.test(o.metadata.name)).map((o) => o.metadata.name), []);
      const images = podTemplates(r).flatMap((p) => [...p.spec.containers, ...(p.spec.initContainers ?? [])]).map((c) => c.image ?? '');
      assert.deepEqual(images.filter((i) => i.startsWith('ghcr.io/')), []);
    });
  });
}

describe('BanyanDB nodes per stack', () => {
  it('runs one standalone BanyanDB pod on dev', async () => {
    const objects = objectsOf(await rendered('dev'));
    assert.deepEqual([podsOf(objects, 'standalone'), podsOf(objects, 'liaison'), podsOf(objects, 'data')], [1, 0, 0]);
  });

  it('runs two liaison and two data pods on prod (skywalking-helm\'s own values would leave one liaison)', async () => {
    const objects = objectsOf(await rendered('prod'));
    assert.deepEqual({ liaison: podsOf(objects, 'liaison'), data: podsOf(objects, 'data') }, { liaison: 2, data: 2 });
    assert.deepEqual(BANYANDB_CLUSTER_NODES, { liaison: 2, data: 2 });
  });
});
