// Every name the stack refers to must exist in what it applies: the objects the program reads, the
// host:port addresses in containers' env, the mesh config and the stack outputs, the Services' selectors.
import { strict as assert } from 'node:assert';
import { emptySelectors, envAddresses, meshAlsAddress, vmEnvAddresses, outputAddresses, renderProblems, unresolvedAddress } from '../../tools/check-render';
import type { RenderedStack } from '../../tools/render-stack';
import { find, rendered, STACKS } from './rendered';

for (const stack of STACKS) {
  describe(`rendered references (${stack})`, () => {
    it('finds every object the program reads (Resource.get) among the objects it applies', async () => {
      const r = await rendered(stack);
      assert.ok(r.reads.length > 0);
      for (const read of r.reads) assert.ok(find(r, read.kind, read.namespace, read.name), `${read.by} reads ${read.kind} ${read.namespace}/${read.name}, which nothing creates`);
    });

    it('resolves every service address in a container\'s env to a Service port, the charts\' own included', async () => {
      const r = await rendered(stack);
      const addresses = envAddresses(r);
      assert.ok(addresses.some((a) => a.address.startsWith('dns:///skywalking-oap-pods.')), 'the receiver\'s OAP target is among them');
      assert.ok(addresses.some((a) => a.address.startsWith('skywalking-banyandb-grpc:')), 'OAP\'s storage address is among them');
      assert.ok(addresses.some((a) => a.address === 'cartservice:7070'), 'Online Boutique\'s addresses are among them');
      for (const a of addresses) assert.equal(unresolvedAddress(r, a.address, a.namespace), undefined, `${a.where} = ${a.address}`);
    });

    it('resolves every service address in a VM workload\'s env to a Service port', async () => {
      const r = await rendered(stack);
      const addresses = vmEnvAddresses(r);
      assert.ok(addresses.some((a) => a.address === 'paymentservice.boutique.svc.cluster.local:50051'), addresses.map((a) => a.address).join(', '));
      for (const a of addresses) assert.equal(unresolvedAddress(r, a.address, a.namespace), undefined, `${a.where} = ${a.address}`);
    });

    it('points the mesh\'s ALS at a Service that exists, on its port', async () => {
      const r = await rendered(stack);
      assert.equal(unresolvedAddress(r, meshAlsAddress(r), 'istio-system'), undefined, meshAlsAddress(r));
    });

    it('resolves every address and port-forward in the stack outputs', async () => {
      const r = await rendered(stack);
      const outputs = outputAddresses(r);
      assert.equal(outputs.length, 6);
      for (const a of outputs) assert.equal(unresolvedAddress(r, a.address, 'default'), undefined, `${a.where} = ${a.address}`);
    });

    it('gives every Service with a selector something to select: a pod template or a WorkloadEntry', async () => {
      assert.deepEqual(emptySelectors(await rendered(stack)).map((s) => s.metadata.name), []);
    });

    it('has no problem npm run render would report', async () => {
      assert.deepEqual(renderProblems(await rendered(stack)), []);
    });
  });
}

describe('the reference check itself', () => {
  /** The dev render with one object taken out, as a typo in a name would leave it. */
  async function without(kind: string, namespace: string, name: string): Promise<RenderedStack> {
    const r = await rendered('dev');
    return { ...r, objects: r.objects.filter((o) => !(o.object.kind === kind && o.object.metadata.namespace === namespace && o.object.metadata.name === name)) };
  }

  it('reports the OAP Service missing from every place that names it', async () => {
    const problems = renderProblems(await without('Service', 'skywalking', 'skywalking-oap'));
    assert.ok(problems.some((p) => /reads Service skywalking\/skywalking-oap, which nothing creates/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /output oapAddress/.test(p)));
  });

  it('reports the receiver\'s OAP target when the headless OAP Service is missing', async () => {
    const problems = renderProblems(await without('Service', 'skywalking', 'skywalking-oap-pods'));
    assert.ok(problems.some((p) => /meshscope-receiver receiver RECEIVER_OAP_ADDRESS = dns:\/\/\/skywalking-oap-pods\.skywalking\.svc\.cluster\.local:11800: no Service skywalking\/skywalking-oap-pods/.test(p)), problems.join('\n'));
  });

  it('reads a dns: target as the Service name after the scheme, with or without an authority', async () => {
    const r = await rendered('dev');
    for (const t of ['dns:///cartservice.boutique:7070', 'dns:cartservice.boutique:7070', 'dns://10.0.0.10:53/cartservice.boutique:7070']) {
      assert.equal(unresolvedAddress(r, t, 'default'), undefined, t);
    }
    assert.equal(unresolvedAddress(r, 'dns:///cartservice.boutique:7071', 'default'), 'Service cartservice has no port 7071');
    assert.equal(unresolvedAddress(r, 'xds:///cartservice.boutique:7070', 'default'), 'not an address');
  });

  it('reports an address whose Service lacks the port', async () => {
    const r = await rendered('dev');
    assert.equal(unresolvedAddress(r, 'cartservice.boutique:7071', 'default'), 'Service cartservice has no port 7071');
    assert.equal(unresolvedAddress(r, 'cartservice:7070', 'boutique'), undefined);
    assert.equal(unresolvedAddress(r, 'cartservice:7070', 'skywalking'), 'no Service skywalking/cartservice');
  });

  it('reports a Service whose pods are gone', async () => {
    const problems = renderProblems(await without('Deployment', 'boutique', 'adservice'));
    assert.ok(problems.includes('reference: Service boutique/adservice (v1) selects no pod and no WorkloadEntry'), problems.join('\n'));
  });
});
