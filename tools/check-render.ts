// What the cluster would get wrong in a rendered stack, found before `pulumi up` does: objects its schema
// refuses, names that point at nothing, releases that wait on their own post-install hooks, Deployments
// that fight their autoscaler. `npm run render` prints these; test/render pins each one.
import { parse } from 'yaml';
import { BOUTIQUE_SERVICES } from '../catalog/src/online-boutique';
import type { K8sObject, RenderedStack } from './render-stack';
import { find, objectsOf, podTemplates } from './rendered-objects';
import { describe, validatorFor } from './validate-objects';

interface ServiceSpec { ports: { port: number }[]; selector?: Record<string, string>; loadBalancerIP?: string }

/** Addresses written `name[.namespace[.svc[.cluster.local]]]:port`, the forms Kubernetes DNS answers. */
const SERVICE_ADDRESS = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.([a-z0-9-]+)(\.svc(\.cluster\.local)?)?)?:(\d+)$/;
const IP_ADDRESS = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/;
/** gRPC's dns scheme (`dns:///name:port`, `dns://resolver/name:port`, `dns:name:port`): the name after it is what Kubernetes DNS answers. */
const DNS_SCHEME = /^dns:(?:\/\/[^/]*\/)?/;
/** Env vars the upstream release sets to a Service it does not deploy (the catalog says why). */
const PLACEHOLDERS = new Set(BOUTIQUE_SERVICES.flatMap((s) => Object.keys(s.placeholderEnv ?? {})));

/** Why `address`, dialled from `namespace`, reaches no Service port of the render; undefined when it does. */
export function unresolvedAddress(r: RenderedStack, target: string, namespace: string): string | undefined {
  const address = target.replace(DNS_SCHEME, '');
  const ip = IP_ADDRESS.exec(address);
  if (ip) {
    const lb = objectsOf(r, 'Service').find((s) => (s.spec as ServiceSpec).loadBalancerIP === ip[1]);
    if (!lb) return `no load balancer Service has the address ${ip[1]}`;
    return (lb.spec as ServiceSpec).ports.some((p) => p.port === Number(ip[2])) ? undefined : `${lb.metadata.name} has no port ${ip[2]}`;
  }
  const m = SERVICE_ADDRESS.exec(address);
  if (!m) return 'not an address';
  const svc = find(r, 'Service', m[4] ?? namespace, m[1]);
  if (!svc) return `no Service ${m[4] ?? namespace}/${m[1]}`;
  return (svc.spec as ServiceSpec).ports.some((p) => p.port === Number(m[7])) ? undefined : `Service ${m[1]} has no port ${m[7]}`;
}

export interface EnvAddress { where: string; address: string; namespace: string }

/** Whether an env var names a Service by host:port (gRPC's dns: scheme allowed): not 0.0.0.0 or
 * localhost, not a URL, and not one of the catalog's placeholders. */
function namesAService(name: string, value: unknown): value is string {
  if (typeof value !== 'string' || PLACEHOLDERS.has(name)) return false;
  const address = value.replace(DNS_SCHEME, '');
  const host = address.split(':')[0]!;
  return SERVICE_ADDRESS.test(address) && /[a-z]/.test(host) && host !== 'localhost';
}

/** Env values of any container that name a Service. */
export function envAddresses(r: RenderedStack): EnvAddress[] {
  return podTemplates(r).flatMap((p) => [...p.spec.containers, ...(p.spec.initContainers ?? [])].flatMap((c) =>
    (c.env ?? []).filter((e) => namesAService(e.name, e.value))
      .map((e) => ({ where: `${p.owner.kind} ${p.owner.metadata.name} ${c.name} ${e.name}`, address: e.value!, namespace: p.owner.metadata.namespace! }))));
}

/** Addresses in the env of each VM's workload (FQDNs, answered by the sidecar's DNS capture). */
export function vmEnvAddresses(r: RenderedStack): EnvAddress[] {
  return r.vms.flatMap((vm) => Object.entries(vm.env)
    .filter(([name, value]) => namesAService(name, value))
    .map(([name, value]) => ({ where: `VM ${vm.instance} ${vm.workload} ${name}`, address: value, namespace: vm.namespace })));
}

/** The ALS address every sidecar in a pod is given, from the mesh config istiod serves. */
export function meshAlsAddress(r: RenderedStack): string {
  const istio = find(r, 'ConfigMap', 'istio-system', 'istio');
  if (!istio) throw new Error('the render has no istio-system/istio mesh ConfigMap');
  const mesh = parse((istio.data as { mesh: string }).mesh) as { defaultConfig: { envoyAccessLogService: { address: string } } };
  return mesh.defaultConfig.envoyAccessLogService.address;
}

/** Addresses in the stack outputs, and the Service behind the UI's port-forward command. */
export function outputAddresses(r: RenderedStack): { where: string; address: string }[] {
  const o = r.outputs as Record<string, string>;
  const keys = ['oapAddress', 'alsAddressForPods', 'alsAddressForVms', 'receiverInClusterAddress', 'receiverInternalAddress'];
  const found = keys.map((k) => ({ where: `output ${k}`, address: o[k] }));
  const pf = /-n (\S+) port-forward svc\/(\S+) \d+:(\d+)/.exec(o.skywalkingUi ?? '');
  found.push({ where: 'output skywalkingUi', address: pf ? `${pf[2]}.${pf[1]}:${pf[3]}` : `unparsable: ${o.skywalkingUi}` });
  return found;
}

/** Services whose selector matches no pod template and no WorkloadEntry of their namespace. */
export function emptySelectors(r: RenderedStack): K8sObject[] {
  const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
    Object.entries(selector).every(([k, v]) => labels?.[k] === v);
  return objectsOf(r, 'Service').filter((svc) => {
    const selector = (svc.spec as ServiceSpec).selector;
    if (!selector) return false;
    const ns = svc.metadata.namespace;
    const pods = podTemplates(r).some((p) => p.owner.metadata.namespace === ns && matches(selector, p.labels));
    const entries = objectsOf(r, 'WorkloadEntry').some((w) => w.metadata.namespace === ns
      && matches(selector, (w.spec as { labels?: Record<string, string> }).labels));
    return !pods && !entries;
  });
}

/** Every problem of a render, one line each; empty when `up` would apply a consistent set. */
export function renderProblems(r: RenderedStack): string[] {
  const objects = objectsOf(r);
  const problems = validatorFor(objects).checkAll(objects).map((p) => `schema: ${p.object}: ${p.message}`);
  for (const read of r.reads) {
    if (!find(r, read.kind, read.namespace, read.name)) problems.push(`reference: ${read.by} reads ${read.kind} ${read.namespace}/${read.name}, which nothing creates`);
  }
  for (const a of [...envAddresses(r), ...vmEnvAddresses(r), { where: 'mesh ALS address', address: meshAlsAddress(r), namespace: 'istio-system' }]) {
    const why = unresolvedAddress(r, a.address, a.namespace);
    if (why) problems.push(`reference: ${a.where} = ${a.address}: ${why}`);
  }
  for (const a of outputAddresses(r)) {
    const why = unresolvedAddress(r, a.address, 'default');
    if (why) problems.push(`reference: ${a.where} = ${a.address}: ${why}`);
  }
  for (const svc of emptySelectors(r)) problems.push(`reference: ${describe(svc)} selects no pod and no WorkloadEntry`);
  for (const rel of r.releases.filter((x) => x.waits)) {
    for (const o of rel.objects.filter((x) => x.hooks.some((h) => h === 'post-install' || h === 'post-upgrade'))) {
      problems.push(`install: release ${rel.name} waits for readiness, but ${describe(o.object)} is a post-install hook Helm runs only after that wait`);
    }
  }
  for (const hpa of objectsOf(r, 'HorizontalPodAutoscaler')) {
    const ref = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    const target = find(r, ref.kind, hpa.metadata.namespace, ref.name);
    if (!target) problems.push(`reference: ${describe(hpa)} scales ${ref.kind} ${ref.name}, which nothing creates`);
    else if ((target.spec as { replicas?: number }).replicas !== undefined) {
      problems.push(`update: ${describe(target)} sets replicas while ${describe(hpa)} scales it; each update would reset the count`);
    }
  }
  return problems;
}
