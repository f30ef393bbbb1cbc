// Kubernetes NetworkPolicy semantics over rendered objects: may a connection from a source reach a pod on a
// port? Implements networking.k8s.io/v1 as the API documents it: a pod is isolated for a direction only when
// some policy selects it with that policy type (policyTypes defaults to Ingress, plus Egress when egress rules
// are given); then a connection passes when any selecting policy's rule admits it (the union); a rule with no
// peers admits every source and with no ports every port; a peer's namespaceSelector and podSelector together
// mean both, podSelector alone means the policy's namespace, namespaceSelector alone every pod there; ipBlock
// (cidr minus except) matches addresses; a named port is resolved against the destination pod's container ports.
// Both ends are checked: the source's egress and the destination's ingress.
import type { K8sObject } from './render-stack';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface PolicyPort { protocol?: string; port?: number | string; endPort?: number }
interface PolicyPeer { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: { cidr: string; except?: string[] } }
interface PolicyRule { from?: PolicyPeer[]; to?: PolicyPeer[]; ports?: PolicyPort[] }
interface PolicySpec { podSelector: LabelSelector; policyTypes?: string[]; ingress?: PolicyRule[]; egress?: PolicyRule[] }

export interface ContainerPort { name?: string; containerPort: number; protocol?: string }

/** A pod (its namespace, labels, container ports and, optionally, address) or a bare address outside the pod network. */
export type Endpoint =
  | { pod: { namespace: string; labels: Record<string, string>; ports?: ContainerPort[]; ip?: string }; name: string }
  | { ip: string; name: string };

export function selects(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const ok = e.operator === 'In' ? has && (e.values ?? []).includes(labels[e.key])
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(labels[e.key])
        : e.operator === 'Exists' ? has
          : e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}

function ipv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits ?? 32);
  const size = 2 ** (32 - prefix);
  const start = Math.floor(ipv4(base) / size) * size;
  const n = ipv4(ip);
  return n >= start && n < start + size;
}

export class Cluster {
  private readonly policies: { namespace: string; spec: PolicySpec }[];
  private readonly namespaceLabels: Map<string, Record<string, string>>;

  constructor(objects: K8sObject[]) {
    this.policies = objects.filter((o) => o.kind === 'NetworkPolicy')
      .map((o) => ({ namespace: o.metadata.namespace ?? 'default', spec: o.spec as PolicySpec }));
    // Every namespace carries its name as kubernetes.io/metadata.name (set by the API server since 1.21).
    this.namespaceLabels = new Map(objects.filter((o) => o.kind === 'Namespace')
      .map((o) => [o.metadata.name, { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name }]));
  }

  private labelsOfNamespace(ns: string): Record<string, string> {
    return this.namespaceLabels.get(ns) ?? { 'kubernetes.io/metadata.name': ns };
  }

  private typesOf(spec: PolicySpec): string[] {
    return spec.policyTypes ?? ['Ingress', ...(spec.egress ? ['Egress'] : [])];
  }

  private peerMatches(peer: PolicyPeer, policyNamespace: string, other: Endpoint): boolean {
    if (peer.ipBlock) {
      const ip = 'ip' in other ? other.ip : other.pod.ip;
      return ip !== undefined && inCidr(ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(ip, c));
    }
    if (!('pod' in other)) return false;
    const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, this.labelsOfNamespace(other.pod.namespace)) : other.pod.namespace === policyNamespace;
    const podOk = peer.podSelector ? selects(peer.podSelector, other.pod.labels) : true;
    return nsOk && podOk;
  }

  private portMatches(ports: PolicyPort[] | undefined, port: number, protocol: string, destination: Endpoint): boolean {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
      if ((p.protocol ?? 'TCP') !== protocol) return false;
      if (p.port === undefined) return true;
      if (typeof p.port === 'number') return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
      // A named port means the destination pod's container port of that name and protocol.
      const named = 'pod' in destination ? (destination.pod.ports ?? []).find((c) => c.name === p.port && (c.protocol ?? 'TCP') === protocol) : undefined;
      return named?.containerPort === port;
    });
  }

  /** Policies that select the pod for a direction; empty means the pod is not isolated in that direction. */
  private selecting(pod: Extract<Endpoint, { pod: unknown }>['pod'], type: 'Ingress' | 'Egress') {
    return this.policies.filter((p) => p.namespace === pod.namespace && this.typesOf(p.spec).includes(type) && selects(p.spec.podSelector, pod.labels));
  }

  /** Whether `from` may open a connection to `to` on the port (TCP unless said). */
  allows(from: Endpoint, to: Endpoint, port: number, protocol = 'TCP'): boolean {
    if ('pod' in from) {
      const egress = this.selecting(from.pod, 'Egress');
      if (egress.length > 0 && !egress.some((p) => (p.spec.egress ?? []).some((r) =>
        (!r.to || r.to.length === 0 || r.to.some((peer) => this.peerMatches(peer, p.namespace, to))) && this.portMatches(r.ports, port, protocol, to)))) return false;
    }
    if ('pod' in to) {
      const ingress = this.selecting(to.pod, 'Ingress');
      if (ingress.length > 0 && !ingress.some((p) => (p.spec.ingress ?? []).some((r) =>
        (!r.from || r.from.length === 0 || r.from.some((peer) => this.peerMatches(peer, p.namespace, from))) && this.portMatches(r.ports, port, protocol, to)))) return false;
    }
    return true;
  }
}
