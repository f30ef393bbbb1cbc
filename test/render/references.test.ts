// Every name the stack refers to must exist in what it applies: the objects the program reads, the
// host:port addresses in containers' env, the mesh config and the stack outputs, the Services' selectors.
import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { BOUTIQUE_SERVICES } from '../../catalog/src/online-boutique';
import type { K8sObject, RenderedStack } from '../../tools/render-stack';
import { find, objectsOf, podTemplates, rendered, STACKS } from './rendered';

interface ServiceSpec { ports: { port: number }[]; selector?: Record<string, string>; loadBalancerIP?: string; type?: string }

/** Addresses written `name[.namespace[.svc[.cluster.local]]]:port`, the forms Kubernetes DNS answers. */
const SERVICE_ADDRESS = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.([a-z0-9-]+)(\.svc(\.cluster\.local)?)?)?:(\d+)$/;
const IP_ADDRESS = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/;
/** Env vars the upstream release sets to a Service it does not deploy (the catalog says why). */
const PLACEHOLDERS = new Set(BOUTIQUE_SERVICES.flatMap((s) => Object.keys(s.placeholderEnv ?? {})));

/** Why `address`, used from `namespace`, names no Service port of the render; undefined when it does. */
function unresolved(r: RenderedStack, address: string, namespace: string): string | undefined {
  const ip = IP_ADDRESS.exec(address);
  if (ip) {
    const lb = objectsOf(r, 'Service').find((s) => (s.spec as ServiceSpec).loadBalancerIP === ip[1]);
    if (!lb) return `no load balancer Service has the address ${ip[1]}`;
    return (lb.spec as ServiceSpec).ports.some((p) => p.port === Number(ip[2])) ? undefined : `${lb.metadata.name} has no port ${ip[2]}`;
  }
  const m = SERVICE_ADDRESS.exec(address);
  if (!m) return `not an address`;
  const svc = find(r, 'Service', m[4] ?? namespace, m[1]);
  if (!svc) return `no Service ${m[4] ?? namespace}/${m[1]}`;
  return (svc.spec as ServiceSpec).ports.some((p) => p.port === Number(m[7])) ? undefined : `Service ${m[1]} has no port ${m[7]}`;
}

/** Env values that look like a host:port of a name (not 0.0.0.0:port, not a URL). */
function envAddresses(r: RenderedStack): { where: string; address: string; namespace: string }[] {
  return podTemplates(r).flatMap((p) => [...p.spec.containers, ...(p.spec.initContainers ?? [])].flatMap((c) =>
    (c.env ?? []).filter((e) => typeof e.value === 'string' && SERVICE_ADDRESS.test(e.value) && /[a-z]/.test(e.value.split(':')[0])
      && e.value.split(':')[0] !== 'localhost' && !PLACEHOLDERS.has(e.name))
      .map((e) => ({ where: `${p.owner.kind} ${p.owner.metadata.name} ${c.name} ${e.name}`, address: e.value!, namespace: p.owner.metadata.namespace! }))));
}

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
      assert.ok(addresses.some((a) => a.address.startsWith('skywalking-oap.')), 'the receiver\'s OAP address is among them');
      assert.ok(addresses.some((a) => a.address.startsWith('skywalking-banyandb-grpc:')), 'OAP\'s storage address is among them');
      for (const a of addresses) assert.equal(unresolved(r, a.address, a.namespace), undefined, `${a.where} = ${a.address}`);
    });

    it('points the mesh\'s ALS at a Service that exists, on its port', async () => {
      const r = await rendered(stack);
      const istio = find(r, 'ConfigMap', 'istio-system', 'istio')!;
      const mesh = parse((istio.data as { mesh: string }).mesh) as { defaultConfig: { envoyAccessLogService: { address: string } } };
      const address = mesh.defaultConfig.envoyAccessLogService.address;
      assert.equal(unresolved(r, address, 'istio-system'), undefined, address);
    });

    it('resolves every address and port-forward in the stack outputs', async () => {
      const r = await rendered(stack);
      const { oapAddress, alsAddressForPods, alsAddressForVms, receiverInClusterAddress, receiverInternalAddress, skywalkingUi } = r.outputs as Record<string, string>;
      for (const address of [oapAddress, alsAddressForPods, alsAddressForVms, receiverInClusterAddress, receiverInternalAddress]) {
        assert.equal(unresolved(r, address, 'default'), undefined, address);
      }
      const pf = /-n (\S+) port-forward svc\/(\S+) \d+:(\d+)/.exec(skywalkingUi);
      assert.ok(pf, skywalkingUi);
      assert.equal(unresolved(r, `${pf[2]}.${pf[1]}:${pf[3]}`, pf[1]), undefined, skywalkingUi);
    });

    it('gives every Service with a selector something to select: a pod template or a WorkloadEntry', async () => {
      const r = await rendered(stack);
      const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
        Object.entries(selector).every(([k, v]) => labels?.[k] === v);
      for (const svc of objectsOf(r, 'Service')) {
        const selector = (svc.spec as ServiceSpec).selector;
        if (!selector) continue;
        const ns = svc.metadata.namespace;
        const pods = podTemplates(r).filter((p) => p.owner.metadata.namespace === ns && matches(selector, p.labels));
        const entries = objectsOf(r, 'WorkloadEntry').filter((w: K8sObject) => w.metadata.namespace === ns
          && matches(selector, (w.spec as { labels?: Record<string, string> }).labels));
        assert.ok(pods.length + entries.length > 0, `Service ${ns}/${svc.metadata.name} selects nothing (${JSON.stringify(selector)})`);
      }
    });
  });
}
