// The rules as @pulumi/policy policies, mandatory unless a rule says why not. Kept apart from index.ts
// (which starts the pack's gRPC server) so tests can inspect the policies.
import { Policies, PolicyPackArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { RESOURCE_RULES, STACK_RULES } from './policies';
import { ensureHelm } from '../tools/packaged-binaries';
import { STACK } from './gcp-types';
import { HELM_TYPES } from './k8s-objects';
import { appliesTo, chartOfUrn, collectingContext, ResourceRule, stackOfUrn, StackRule } from './rule';
import { resolveUnknowns, undecidedError } from './unknowns';

export const PACK_NAME = 'meshscope';

export function resourcePolicy(rule: ResourceRule): ResourceValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcement ?? 'mandatory',
    validateResource: async (args, reportViolation) => {
      if (!appliesTo(rule, args.type)) return;
      // A release is judged by what its chart renders, with the pinned helm (fetched once, then verified).
      if (HELM_TYPES.includes(args.type)) await ensureHelm();
      const undecided: string[] = [];
      const props = resolveUnknowns(args.props);
      for (const message of rule.validate(args.type, props, collectingContext(stackOfUrn(args.urn), undecided, chartOfUrn(args.urn)))) reportViolation(message);
      // Known violations are reported above at the policy's level; the SDK turns this into an advisory note.
      if (undecided.length > 0) throw undecidedError(undecided);
    },
  };
}

export function stackPolicy(rule: StackRule): StackValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: 'mandatory',
    validateStack: (args, reportViolation) => {
      const undecided: string[] = [];
      // The root stack resource's outputs are the stack outputs.
      for (const root of args.resources.filter((r) => r.type === STACK && !r.parent)) {
        for (const message of rule.validate(resolveUnknowns(root.props), collectingContext(undefined, undecided))) reportViolation(message, root.urn);
      }
      if (undecided.length > 0) throw undecidedError(undecided);
    },
  };
}

export const POLICIES: Policies = [...RESOURCE_RULES.map(resourcePolicy), ...STACK_RULES.map(stackPolicy)];

export const PACK_ARGS: PolicyPackArgs = {
  description: 'Refuses the mistakes that make the hybrid mesh insecure: public VMs, open firewalls, default accounts, keys, public IAM, weak GKE settings, secrets in metadata or outputs, unlabelled resources; in the cluster, chart objects included: public Services, host access, missing requests, unpinned or unknown images, secrets in plain objects, RBAC wildcards.',
  enforcementLevel: 'mandatory',
  policies: POLICIES,
};
