// A `*` in a Role's verbs or resources grants whatever the API adds later, including secrets and escalation
// (`bind`, `escalate`, `impersonate`). Our own Roles name what they need. Charts' roles (istiod's reads every
// Istio resource with `*`) are the upstream project's design, reviewed through its pinned version, not ours.
import { isUnknown, Props } from './rule';
import { kubernetesRule } from './k8s-objects';

const ROLE_KINDS = ['Role', 'ClusterRole'];

export const noRbacWildcards: ReturnType<typeof kubernetesRule> = kubernetesRule({
  name: 'k8s-no-rbac-wildcards',
  description: 'Our own Roles and ClusterRoles (not a chart\'s) name their verbs and resources: no `*`.',
  judge(o, ctx, from) {
    if (!ROLE_KINDS.includes(o.kind) || !o.apiVersion.startsWith('rbac.authorization.k8s.io/') || from.release) return [];
    const rules = (o as Props).rules;
    if (isUnknown(rules)) return (ctx.undecided(rules), []);
    return (Array.isArray(rules) ? rules : []).flatMap((r: Props, i: number) => (['verbs', 'resources'] as const).flatMap((field) => {
      const list = r?.[field];
      if (isUnknown(list)) return (ctx.undecided(list), []);
      return Array.isArray(list) && list.includes('*') ? [`rules[${i}].${field} holds "*"; allowed: the ${field} the role needs, by name`] : [];
    }));
  },
});
