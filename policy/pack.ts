// The rules as @pulumi/policy policies, all mandatory: a violation stops `pulumi preview` and `pulumi up`.
// Kept apart from index.ts (which starts the pack's gRPC server) so tests can inspect the policies.
import { Policies, PolicyPackArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { RESOURCE_RULES, STACK_RULES } from './policies';
import { STACK } from './gcp-types';
import { ResourceRule, stackOfUrn, StackRule, violations } from './rule';

export const PACK_NAME = 'meshscope';

export function resourcePolicy(rule: ResourceRule): ResourceValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: 'mandatory',
    validateResource: (args, reportViolation) => {
      for (const message of violations(rule, args.type, args.props, { stack: stackOfUrn(args.urn) })) reportViolation(message);
    },
  };
}

export function stackPolicy(rule: StackRule): StackValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: 'mandatory',
    validateStack: (args, reportViolation) => {
      // The root stack resource's outputs are the stack outputs.
      for (const root of args.resources.filter((r) => r.type === STACK && !r.parent)) {
        for (const message of rule.validate(root.props)) reportViolation(message, root.urn);
      }
    },
  };
}

export const POLICIES: Policies = [...RESOURCE_RULES.map(resourcePolicy), ...STACK_RULES.map(stackPolicy)];

export const PACK_ARGS: PolicyPackArgs = {
  description: 'Refuses the mistakes that make the hybrid mesh insecure: public VMs, open firewalls, default accounts, secrets in metadata or outputs, unlabelled resources.',
  enforcementLevel: 'mandatory',
  policies: POLICIES,
};
