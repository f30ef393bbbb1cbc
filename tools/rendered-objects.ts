// Readers over a rendered stack: objects by kind and name, and the pod templates of its workloads.
import type { K8sObject, RenderedStack } from './render-stack';

export function objectsOf(r: RenderedStack, kind?: string): K8sObject[] {
  return r.objects.map((o) => o.object).filter((o) => !kind || o.kind === kind);
}

export function find(r: RenderedStack, kind: string, namespace: string | undefined, name: string): K8sObject | undefined {
  return objectsOf(r, kind).find((o) => o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
}

export interface PodTemplate {
  owner: K8sObject;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: { containers: Container[]; initContainers?: Container[]; securityContext?: Record<string, unknown>; serviceAccountName?: string; [k: string]: unknown };
}
export interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { containerPort: number; name?: string }[];
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  resources?: Record<string, unknown>;
  securityContext?: Record<string, unknown>;
  [k: string]: unknown;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

/** Every pod template of the render, with the object that owns it. */
export function podTemplates(r: RenderedStack): PodTemplate[] {
  return objectsOf(r).filter((o) => WORKLOAD_KINDS.has(o.kind)).map((owner) => {
    const template = (owner.spec as { template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodTemplate['spec'] } }).template;
    return { owner, labels: template.metadata?.labels ?? {}, annotations: template.metadata?.annotations ?? {}, spec: template.spec };
  });
}
