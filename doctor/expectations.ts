// What a healthy stack shows, derived from the catalog and the stack's VM list: the services a VM calls,
// the services and relations OAP must know. Nothing here is typed in by hand per service.
import { BOUTIQUE_GRAPH, boutiqueEnv, boutiqueService } from '../catalog/src/online-boutique';

/** `host:port` of each service `workload` calls, exactly as its env on a VM names them (cluster FQDNs). */
export function calleeAddresses(workload: string, namespace: string): string[] {
  const svc = boutiqueService(workload);
  const env = boutiqueEnv(svc, namespace);
  return svc.calls.map((name) => {
    const callee = boutiqueService(name);
    const key = Object.keys(env).find((k) => k === callee.addressEnv || (name === 'frontend' && k === 'FRONTEND_ADDR'));
    if (!key) throw new Error(`${workload}'s env has no address for its callee ${name}`);
    return env[key];
  });
}

/** Envoy's name for the outbound cluster of `host:port` (Istio: `outbound|<port>|<subset>|<host>`). */
export function outboundCluster(address: string): string {
  const i = address.lastIndexOf(':');
  return `outbound|${address.slice(i + 1)}||${address.slice(0, i)}`;
}

export interface Relation { source: string; target: string }

/** Every call of the catalog's graph that starts or ends on a VM: pod→VM, VM→VM and VM→pod. */
export function vmRelations(vmServices: readonly string[]): Relation[] {
  const onVm = new Set(vmServices);
  return BOUTIQUE_GRAPH.flatMap((s) => s.calls.map((target) => ({ source: s.name, target })))
    .filter((r) => onVm.has(r.source) || onVm.has(r.target));
}

/** The VM services and the services that call them: the nodes OAP must list for the hybrid mesh to show. */
export function vmFacingServices(vmServices: readonly string[]): string[] {
  const onVm = new Set(vmServices);
  const callers = BOUTIQUE_GRAPH.filter((s) => !onVm.has(s.name) && s.calls.some((c) => onVm.has(c))).map((s) => s.name);
  return [...callers, ...vmServices];
}
