// Every LoadBalancer Service makes GKE create Google Cloud objects of its own (a forwarding rule, a backend
// or target pool, health checks, firewall rules; an internal one holds a reserved address of the subnet).
// Pulumi knows none of them, and any left behind blocks the subnet's and the network's deletion. They go
// when the Service goes: the service controller keeps the Service (finalizer
// service.kubernetes.io/load-balancer-cleanup) until they are deleted. So every such Service must be one
// `pulumi destroy` waits for, and none may be there by a chart's default.
import { strict as assert } from 'node:assert';
import { rendered, STACKS } from './rendered';

/** The load balancers the stack means to have, by namespace/name. */
const MEANT = ['boutique/frontend-external', 'istio-system/istio-eastwestgateway', 'skywalking/receiver-ilb'];

for (const stack of STACKS) {
  describe(`load balancers and teardown (${stack})`, () => {
    const lbs = async () => (await rendered(stack)).objects
      .filter((o) => o.object.kind === 'Service' && (o.object.spec as { type?: string } | undefined)?.type === 'LoadBalancer');

    it('has only the load balancers it means to: none comes from a chart default', async () => {
      assert.deepEqual((await lbs()).map((o) => `${o.object.metadata.namespace}/${o.object.metadata.name}`).sort(), MEANT);
    });

    it('waits for each one to be deleted: its own objects directly, a release\'s through its uninstall or its namespace', async () => {
      const r = await rendered(stack);
      const namespaces = r.objects.filter((o) => o.object.kind === 'Namespace' && o.origin.startsWith('program ')).map((o) => o.object.metadata.name);
      for (const lb of await lbs()) {
        if (lb.origin.startsWith('program ')) continue; // a Pulumi object: destroy waits until it is gone
        const release = r.releases.find((rel) => `release ${rel.name}` === lb.origin)!;
        // Pulumi's Release uninstalls with --wait when it installed with a wait; else the Namespace it
        // depends on is deleted after it, and Pulumi waits for that namespace to be empty and gone.
        assert.ok(release.waits || namespaces.includes(release.namespace), `${lb.object.metadata.name}: release ${release.name} neither waits nor lives in a namespace of the program`);
      }
    });

    it('asks for no network endpoint groups (container-native load balancing), which outlive their Service', async () => {
      const withNeg = (await rendered(stack)).objects.filter((o) => o.object.metadata.annotations?.['cloud.google.com/neg']);
      assert.deepEqual(withNeg.map((o) => o.object.metadata.name), []);
    });
  });
}
