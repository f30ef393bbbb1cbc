// Shielded VMs: secure boot refuses unsigned boot code, the vTPM measures boot, integrity monitoring
// reports drift. GCE leaves secure boot off by default, so each flag must be set explicitly. GKE nodes
// have no vTPM setting: their pools must still turn on secure boot and integrity monitoring.
import { NODE_POOL, VM_TYPES } from './gcp-types';
import { at, isUnknown, ResourceRule, RuleContext } from './rule';

const VM_FLAGS = ['enableSecureBoot', 'enableVtpm', 'enableIntegrityMonitoring'] as const;
const NODE_FLAGS = ['enableSecureBoot', 'enableIntegrityMonitoring'] as const;

function missingFlags(path: string, config: unknown, flags: readonly string[], ctx: RuleContext): string[] {
  if (isUnknown(config)) return (ctx.undecided(config), []);
  const c = (config ?? {}) as Record<string, unknown>;
  return flags
    .filter((f) => {
      const v = c[f];
      if (isUnknown(v)) return (ctx.undecided(v), false);
      return v !== true;
    })
    .map((f) => `${path}.${f} is ${JSON.stringify(c[f]) ?? 'unset'}; allowed: true (shielded VMs boot only signed, measured code)`);
}

export const shieldedVms: ResourceRule = {
  name: 'shielded-vms',
  description: 'VMs turn on secure boot, vTPM and integrity monitoring; GKE node pools turn on secure boot and integrity monitoring.',
  types: [...VM_TYPES, NODE_POOL],
  validate(type, props, ctx) {
    if (type === NODE_POOL) {
      return missingFlags('nodeConfig.shieldedInstanceConfig', at(props, 'nodeConfig.shieldedInstanceConfig'), NODE_FLAGS, ctx);
    }
    return missingFlags('shieldedInstanceConfig', props.shieldedInstanceConfig, VM_FLAGS, ctx);
  },
};
