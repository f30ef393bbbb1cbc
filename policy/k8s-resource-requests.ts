// A container without requests is scheduled as if it needed nothing and is the first evicted under pressure;
// the chart defaults that leave them out are fixed in our values (infra/observability.ts).
import { isUnknown } from './rule';
import { exceptedContainer } from './chart-exceptions';
import { containersOf, kubernetesRule, podSpecOf } from './k8s-objects';

const NAME = 'k8s-resource-requests';
const REQUIRED = ['cpu', 'memory'] as const;

export const resourceRequests: ReturnType<typeof kubernetesRule> = kubernetesRule({
  name: NAME,
  description: 'Every container, init containers included, requests CPU and memory.',
  judge(o, ctx, from) {
    const pod = podSpecOf(o);
    if (!pod) return [];
    return containersOf(pod).filter((c) => !c.path.includes('ephemeralContainers')).flatMap(({ path, container }) => {
      if (exceptedContainer(NAME, from.release, container)) return [];
      const requests = container?.resources?.requests;
      if (isUnknown(requests) || isUnknown(container?.resources)) return (ctx.undecided(isUnknown(requests) ? requests : container.resources), []);
      const missing = REQUIRED.filter((r) => requests?.[r] === undefined || requests?.[r] === null || requests?.[r] === '');
      return missing.length ? [`${path} requests no ${missing.join(' or ')}; allowed: resources.requests with cpu and memory`] : [];
    });
  },
});
