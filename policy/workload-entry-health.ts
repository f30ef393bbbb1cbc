// istiod health-checks a VM only when its WorkloadEntry says so (annotation `proxy.istio.io/health-checks-enabled`,
// read by istio/istio pilot/pkg/autoregistration): without it the probe of the WorkloadGroup is never run
// and a VM whose service died stays among the endpoints every caller is sent to.
import { isUnknown, ResourceRule } from './rule';

export const WORKLOAD_ENTRY_TYPES = ['kubernetes:networking.istio.io/v1:WorkloadEntry', 'kubernetes:networking.istio.io/v1beta1:WorkloadEntry'] as const;
export const HEALTH_CHECKS_ANNOTATION = 'proxy.istio.io/health-checks-enabled';

export const workloadEntryHealthChecked: ResourceRule = {
  name: 'workload-entry-health-checked',
  description: `Every WorkloadEntry turns on istiod's health checks (${HEALTH_CHECKS_ANNOTATION}: "true"), so a VM whose app is down leaves the endpoints.`,
  types: WORKLOAD_ENTRY_TYPES,
  validate(_type, props, ctx) {
    const metadata = props.metadata;
    if (isUnknown(metadata)) return (ctx.undecided(metadata), []);
    const annotations = metadata?.annotations;
    if (isUnknown(annotations)) return (ctx.undecided(annotations), []);
    const value = annotations?.[HEALTH_CHECKS_ANNOTATION];
    if (isUnknown(value)) return (ctx.undecided(value), []);
    if (value === 'true') return [];
    return [`metadata.annotations["${HEALTH_CHECKS_ANNOTATION}"] is ${JSON.stringify(value) ?? 'unset'}; allowed: "true" `
      + '(istiod then runs the WorkloadGroup probe and removes an unhealthy VM from the endpoints)'];
  },
};
