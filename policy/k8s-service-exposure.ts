// A Service of type LoadBalancer is an external, internet-facing load balancer on GKE unless it carries GKE's
// internal annotation; a NodePort opens a port on every node. Only the shop's storefront is meant to be public
// (README: "Nothing is open to 0.0.0.0/0 …"); everything else that must be reached from the VPC is internal.
import { isUnknown } from './rule';
import { kubernetesRule } from './k8s-objects';

export const GKE_INTERNAL_LB = { annotation: 'networking.gke.io/load-balancer-type', value: 'Internal' } as const;

/** The Services meant to be public, each with why. */
export const PUBLIC_SERVICES: readonly { namespace: string; name: string; why: string }[] = [
  { namespace: 'boutique', name: 'frontend-external', why: 'Online Boutique\'s storefront, the one public entry point' },
];

export function isPublicByDesign(namespace: string | undefined, name: string | undefined): boolean {
  return PUBLIC_SERVICES.some((p) => p.namespace === namespace && p.name === name);
}

const allowed = `allowed: ClusterIP, or a LoadBalancer with ${GKE_INTERNAL_LB.annotation}: "${GKE_INTERNAL_LB.value}"; public only: ${PUBLIC_SERVICES.map((p) => `${p.namespace}/${p.name}`).join(', ')}`;

export const servicesNotPublic: ReturnType<typeof kubernetesRule> = kubernetesRule({
  name: 'k8s-services-not-public',
  description: 'No Service of type LoadBalancer or NodePort outside the named public allow-list (the shop\'s frontend); '
    + `every other load balancer is internal (${GKE_INTERNAL_LB.annotation}: "${GKE_INTERNAL_LB.value}").`,
  judge(o, ctx) {
    if (o.kind !== 'Service') return [];
    const type = (o.spec as { type?: unknown } | undefined)?.type;
    if (isUnknown(type)) return (ctx.undecided(type), []);
    if (type !== 'LoadBalancer' && type !== 'NodePort') return [];
    if (isPublicByDesign(o.metadata.namespace, o.metadata.name)) return [];
    if (type === 'NodePort') return [`is a NodePort Service, which opens its ports on every node; ${allowed}`];
    const annotation = o.metadata.annotations?.[GKE_INTERNAL_LB.annotation];
    if (isUnknown(annotation)) return (ctx.undecided(annotation), []);
    if (annotation === GKE_INTERNAL_LB.value) return [];
    const ports = ((o.spec as { ports?: { port?: number }[] }).ports ?? []).map((p) => p.port).join(', ');
    return [`is an external load balancer (type LoadBalancer, ${GKE_INTERNAL_LB.annotation} ${annotation === undefined ? 'unset' : JSON.stringify(annotation)}) on port ${ports || '(none)'}; ${allowed}`];
  },
});
