// Each Online Boutique workload the stack runs in pods, compared with the pinned release manifest
// (GoogleCloudPlatform/microservices-demo release/kubernetes-manifests.yaml, from the chart cache): what
// upstream ships is what runs, except the differences listed below, each with its reason.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { cachedBoutiqueManifest } from '../../tools/chart-cache';
import type { K8sObject } from '../../tools/render-stack';
import { Container, objectsOf, podTemplates, rendered, STACKS } from './rendered';

/** Every deliberate difference from the release manifest, in one place: [workload, field, why]. */
export const DELIBERATE_DIFFERENCES: readonly [string, string, string][] = [
  ['loadgenerator', 'initContainers', 'upstream\'s frontend-check init container calls the frontend before the Istio sidecar runs; under '
    + 'injection its traffic is redirected to a proxy that is not there yet and it waits forever; the loadgenerator retries on its own'],
  ['redis-cart', 'serviceAccountName', 'its own ServiceAccount, as every other workload has: an Istio identity is its service account, '
    + 'and upstream\'s redis-cart runs as `default`, which any other pod of the namespace could share'],
  ['checkoutservice', 'placement', 'runs on a VM (meshscope:vmWorkloads): no pod, a WorkloadEntry behind the same Service'],
  ['paymentservice', 'placement', 'runs on a VM (meshscope:vmWorkloads): no pod, a WorkloadEntry behind the same Service'],
];
const differs = (workload: string, field: string) => DELIBERATE_DIFFERENCES.some(([w, f]) => w === workload && f === field);

interface Pod { labels?: Record<string, string>; annotations?: Record<string, string>; spec: { containers: Container[]; initContainers?: Container[]; securityContext?: unknown; serviceAccountName?: string } }

function upstream(version: string): K8sObject[] {
  const text = fs.readFileSync(cachedBoutiqueManifest(version), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => !!o);
}
function podOf(d: K8sObject): Pod {
  const t = (d.spec as { template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Pod['spec'] } }).template;
  return { labels: t.metadata?.labels, annotations: t.metadata?.annotations, spec: t.spec };
}
/** Kubernetes reads quantities the same however they are ordered in the object. */
const sorted = (v: unknown): unknown => (v && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)])) : v);

for (const stack of STACKS) {
  describe(`Online Boutique against its release manifest (${stack})`, () => {
    let ours: Map<string, Pod>;
    let theirs: Map<string, Pod>;
    before(async () => {
      const r = await rendered(stack);
      const version = (podTemplates(r).find((p) => p.owner.metadata.name === 'frontend')!.labels.version);
      ours = new Map(podTemplates(r).filter((p) => p.owner.metadata.namespace === 'boutique' && p.owner.kind === 'Deployment')
        .map((p) => [p.owner.metadata.name, { labels: p.labels, annotations: p.annotations, spec: p.spec }]));
      theirs = new Map(upstream(version).filter((o) => o.kind === 'Deployment').map((d) => [d.metadata.name, podOf(d)]));
    });

    it('runs every upstream workload, in a pod or on a VM, and nothing else', () => {
      const onVms = [...theirs.keys()].filter((n) => differs(n, 'placement'));
      assert.deepEqual([...ours.keys(), ...onVms].sort(), [...theirs.keys()].sort());
    });

    const fields: [string, (p: Pod) => unknown][] = [
      ['image', (p) => p.spec.containers.map((c) => c.image)],
      ['container ports', (p) => p.spec.containers.map((c) => (c.ports ?? []).map((x) => x.containerPort))],
      ['env names', (p) => p.spec.containers.map((c) => (c.env ?? []).map((e) => e.name).sort())],
      ['env values', (p) => p.spec.containers.map((c) => (c.env ?? []).map((e) => `${e.name}=${e.value}`).sort())],
      ['readiness probe', (p) => p.spec.containers.map((c) => sorted(c.readinessProbe))],
      ['liveness probe', (p) => p.spec.containers.map((c) => sorted(c.livenessProbe))],
      ['resources', (p) => p.spec.containers.map((c) => sorted(c.resources))],
      ['container securityContext', (p) => p.spec.containers.map((c) => sorted(c.securityContext))],
      ['pod securityContext', (p) => sorted(p.spec.securityContext)],
      ['serviceAccountName', (p) => p.spec.serviceAccountName],
      ['pod annotations', (p) => sorted(p.annotations ?? {})],
      ['initContainers', (p) => (p.spec.initContainers ?? []).map((c) => c.name)],
    ];
    for (const [field, read] of fields) {
      it(`matches upstream's ${field} for every pod workload, but for the listed differences`, () => {
        for (const [name, pod] of ours) {
          if (differs(name, field)) continue;
          assert.deepEqual(read(pod), read(theirs.get(name)!), `${name}: ${field}`);
        }
      });
    }

    it('lists only differences that exist', () => {
      for (const [name, field] of DELIBERATE_DIFFERENCES) {
        if (field === 'placement') { assert.ok(!ours.has(name), `${name} runs in a pod`); continue; }
        const read = fields.find(([f]) => f === field)![1];
        assert.notDeepEqual(read(ours.get(name)!), read(theirs.get(name)!), `${name}: ${field} matches upstream; drop the entry`);
      }
    });

    it('runs each VM workload from the upstream image, with upstream\'s env (callees named by FQDN, as a VM has no pod search path)', async () => {
      const r = await rendered(stack);
      assert.ok(r.vms.length > 0);
      const short = (value: string) => value.replace(/^([a-z0-9-]+)\.[a-z0-9-]+\.svc\.cluster\.local:/, '$1:');
      for (const vm of r.vms) {
        const upstreamPod = theirs.get(vm.workload)!;
        assert.equal(vm.image, upstreamPod.spec.containers[0].image, vm.workload);
        const env = Object.entries(vm.env).map(([k, v]) => `${k}=${short(v)}`).sort();
        assert.deepEqual(env, (upstreamPod.spec.containers[0].env ?? []).map((e) => `${e.name}=${e.value}`).sort(), vm.workload);
      }
    });

    it('exposes every upstream Service on the same ports', async () => {
      const r = await rendered(stack);
      const ports = (s: K8sObject) => (s.spec as { ports: { port: number; targetPort: number }[] }).ports.map((p) => `${p.port}->${p.targetPort}`);
      const mine = new Map(objectsOf(r, 'Service').filter((s) => s.metadata.namespace === 'boutique').map((s) => [s.metadata.name, ports(s)]));
      const frontendVersion = podTemplates(r).find((p) => p.owner.metadata.name === 'frontend')!.labels.version;
      for (const svc of upstream(frontendVersion).filter((o) => o.kind === 'Service')) {
        assert.deepEqual(mine.get(svc.metadata.name), ports(svc), `Service ${svc.metadata.name}`);
      }
    });
  });
}
