// The Kubernetes objects a resource stands for, so each Kubernetes rule judges every object `up` would apply:
// a typed resource (`kubernetes:<group>/<version>:<Kind>`, which is also what a helm.sh/v4 Chart's children
// are in a real preview) is one object; a Helm release (`helm.sh/v3` Release, `helm.sh/v4` Chart) is every
// object its chart renders with the resource's values, rendered by the pinned helm from the chart cache.
import { ReleaseObject, renderReleaseSync } from '../tools/render-release';
import { isUnknown, Props, ResourceRule, RuleContext, Unknown } from './rule';

export const HELM_RELEASE = 'kubernetes:helm.sh/v3:Release';
export const HELM_CHART = 'kubernetes:helm.sh/v4:Chart';
export const HELM_TYPES: readonly string[] = [HELM_RELEASE, HELM_CHART];
/** Types that are not one Kubernetes object: releases are expanded here; the rest (YAML groups) are judged by what they declare elsewhere. */
const NOT_AN_OBJECT = /^kubernetes:(helm\.sh|yaml|kustomize|pulumi)\//;
/** What stands in for a value not known at preview while the chart is rendered (the unknown is reported as undecided). */
const UNKNOWN_STAND_IN = 'unknown-until-update';

export type K8sObject = ReleaseObject;

export interface JudgedObject {
  object: K8sObject;
  /** How messages name it: `Service skywalking/x`, prefixed by `release "r" (chart c): ` for a chart's object. */
  where: string;
  /** The release whose chart renders it, when it comes from a chart (rendered here, or a v4 Chart's child). */
  release?: string;
}

/** `kubernetes:apps/v1:Deployment` → apps/v1 Deployment; `kubernetes:core/v1:Service` → v1 Service. */
export function kindOfType(type: string): { apiVersion: string; kind: string } | undefined {
  const m = /^kubernetes:(.+)\/([^/:]+):([A-Za-z]+)$/.exec(type);
  if (!m || NOT_AN_OBJECT.test(type)) return undefined;
  return { apiVersion: m[1] === 'core' ? m[2] : `${m[1]}/${m[2]}`, kind: m[3] };
}

export function describe(o: K8sObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ''}${o.metadata?.name ?? '(unnamed)'}`;
}

/** Values with every unknown replaced by a stand-in, each unknown handed to `ctx.undecided`. */
function knownValues(v: unknown, ctx: RuleContext): unknown {
  if (isUnknown(v)) return (ctx.undecided(v), UNKNOWN_STAND_IN);
  if (Array.isArray(v)) return v.map((x) => knownValues(x, ctx));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, knownValues(x, ctx)]));
  return v;
}

function releaseObjects(type: string, props: Props, ctx: RuleContext): JudgedObject[] {
  for (const key of ['chart', 'name', 'namespace', 'version', 'values'] as const) {
    if (isUnknown(props[key])) return (ctx.undecided(props[key] as Unknown), []);
  }
  // A v4 Chart's release name defaults to the resource's name, which the inputs do not carry.
  const name = typeof props.name === 'string' ? props.name : 'release';
  const namespace = typeof props.namespace === 'string' ? props.namespace : 'default';
  const values = (knownValues(props.values ?? {}, ctx) ?? {}) as Record<string, unknown>;
  const chart = String(props.chart);
  const objects = renderReleaseSync({ name, namespace, chart, version: props.version, repositoryOpts: props.repositoryOpts, values });
  const label = `${type === HELM_CHART ? 'chart' : 'release'} "${name}" (${chart.split('/').pop()} ${props.version ?? ''})`.replace(' )', ')');
  return objects.map((o) => {
    const object = o.metadata?.namespace || CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace } };
    return { object, where: `${label}: ${describe(object)}`, release: name };
  });
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'PriorityClass', 'StorageClass']);

/** The objects a resource of this type stands for (none for non-Kubernetes types). */
export function kubernetesObjectsOf(type: string, props: Props, ctx: RuleContext): JudgedObject[] {
  if (HELM_TYPES.includes(type)) return releaseObjects(type, props, ctx);
  const k = kindOfType(type);
  if (!k) return [];
  const object = { ...props, ...k, metadata: (props.metadata && !isUnknown(props.metadata) ? props.metadata : {}) } as K8sObject;
  if (isUnknown(props.metadata)) ctx.undecided(props.metadata);
  if (!ctx.chart) return [{ object, where: describe(object) }];
  // A Chart's child is named after the Chart resource; the Helm release is what the chart's own labels say.
  const labels = (object.metadata.labels ?? {}) as Record<string, unknown>;
  const fromLabels = [labels['app.kubernetes.io/instance'], labels.release].find((v): v is string => typeof v === 'string');
  return [{ object, where: `chart "${ctx.chart}": ${describe(object)}`, release: fromLabels ?? ctx.chart }];
}

/** A rule over single Kubernetes objects, applied to every object a resource stands for. */
export function kubernetesRule(rule: Omit<ResourceRule, 'types' | 'typePattern' | 'validate'> & {
  judge(o: K8sObject, ctx: RuleContext, from: JudgedObject): string[];
  /** Chart values too (the release's `values` input), for rules that judge them. */
  judgeValues?(values: Props, ctx: RuleContext): string[];
}): ResourceRule {
  return {
    ...rule,
    types: HELM_TYPES,
    typePattern: /^kubernetes:[^:]+\/[^/:]+:[A-Za-z]+$/,
    validate(type, props, ctx) {
      const values = HELM_TYPES.includes(type) && rule.judgeValues && props.values && !isUnknown(props.values)
        ? rule.judgeValues(props.values, ctx).map((m) => `release "${props.name}" values: ${m}`) : [];
      return [...values, ...kubernetesObjectsOf(type, props, ctx).flatMap((j) => rule.judge(j.object, ctx, j).map((m) => `${j.where}: ${m}`))];
    },
  };
}

/** A pod spec and the path to it, for every kind that carries one. */
export function podSpecOf(o: K8sObject): { path: string; spec: Props; metadata: Props } | undefined {
  const spec = o.spec as Props | undefined;
  if (!spec || isUnknown(spec)) return undefined;
  if (o.kind === 'Pod') return { path: 'spec', spec, metadata: o.metadata };
  if (o.kind === 'CronJob') {
    const t = spec.jobTemplate?.spec?.template;
    return t?.spec ? { path: 'spec.jobTemplate.spec.template.spec', spec: t.spec, metadata: t.metadata ?? {} } : undefined;
  }
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job'].includes(o.kind) && spec.template?.spec) {
    return { path: 'spec.template.spec', spec: spec.template.spec, metadata: spec.template.metadata ?? {} };
  }
  return undefined;
}

export interface ContainerAt { path: string; container: Props }

/** Every container of a pod spec, init and ephemeral ones included, with its path. */
export function containersOf(pod: { path: string; spec: Props }): ContainerAt[] {
  return (['initContainers', 'containers', 'ephemeralContainers'] as const).flatMap((list) => {
    const cs = pod.spec[list];
    return Array.isArray(cs) ? cs.map((c: Props, i: number) => ({ path: `${pod.path}.${list}[${i}] "${c?.name}"`, container: c })) : [];
  });
}
