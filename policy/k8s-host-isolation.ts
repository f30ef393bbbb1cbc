// A pod that shares the node's network, process or IPC namespace, mounts a host path or runs privileged can
// read or take over the node and every other pod on it. None of ours needs to: Istio here uses the init
// container the injector adds at admission (NET_ADMIN/NET_RAW, not privileged) and no istio-cni DaemonSet,
// and the rendered istiod and gateway pods ask for none of these (test/policy pins the renders).
import { isUnknown } from './rule';
import { containersOf, kubernetesRule, podSpecOf } from './k8s-objects';

/** Pods allowed one of these, each with the reason; empty: nothing rendered here needs one. */
export const HOST_ACCESS_EXCEPTIONS: readonly { namespace: string; kind: string; name: string; grants: string; why: string }[] = [];

const HOST_NAMESPACES = ['hostNetwork', 'hostPID', 'hostIPC'] as const;

export const noHostAccess: ReturnType<typeof kubernetesRule> = kubernetesRule({
  name: 'k8s-no-host-access',
  description: 'No privileged container, hostNetwork, hostPID, hostIPC or hostPath volume in any pod (a named exception only with its reason).',
  judge(o, ctx) {
    const pod = podSpecOf(o);
    if (!pod) return [];
    if (HOST_ACCESS_EXCEPTIONS.some((e) => e.namespace === o.metadata.namespace && e.kind === o.kind && e.name === o.metadata.name)) return [];
    const problems: string[] = [];
    for (const key of HOST_NAMESPACES) {
      const v = pod.spec[key];
      if (isUnknown(v)) ctx.undecided(v);
      else if (v === true) problems.push(`${pod.path}.${key} is true; allowed: false (the pod would share the node's ${key.slice(4)} namespace)`);
    }
    (Array.isArray(pod.spec.volumes) ? pod.spec.volumes : []).forEach((v: Record<string, any>, i: number) => {
      if (v?.hostPath) problems.push(`${pod.path}.volumes[${i}] "${v.name}" mounts the host path ${JSON.stringify(v.hostPath.path)}; allowed: no hostPath volumes`);
    });
    for (const { path, container } of containersOf(pod)) {
      const privileged = container?.securityContext?.privileged;
      if (isUnknown(privileged)) ctx.undecided(privileged);
      else if (privileged === true) problems.push(`${path} is privileged; allowed: securityContext.privileged false or unset`);
    }
    return problems;
  },
});
