// VMs have no public IP: they reach the internet through Cloud NAT and are reached through the mesh, the
// internal load balancers and IAP. An access config (IPv4) or an IPv6 access config is an external address.
import { VM_TYPES } from './gcp-types';
import { isUnknown, listAt, ResourceRule } from './rule';

export const vmNoPublicIp: ResourceRule = {
  name: 'vm-no-public-ip',
  description: 'VMs have no external IP: every network interface has empty accessConfigs and ipv6AccessConfigs.',
  types: VM_TYPES,
  validate(_type, props, ctx) {
    return listAt(props, 'networkInterfaces', ctx).flatMap((nic, i) => (isUnknown(nic) ? (ctx.undecided(nic), []) :
      (['accessConfigs', 'ipv6AccessConfigs'] as const)
        .filter((field) => !isUnknown(nic) && listAt(nic ?? {}, field, ctx).length > 0)
        .map((field) =>
          `networkInterfaces[${i}].${field} has ${nic[field].length} entr${nic[field].length === 1 ? 'y' : 'ies'} ` +
          `(${JSON.stringify(nic[field])}), which gives the VM an external IP; allowed: none (use Cloud NAT to go out, IAP to SSH in)`)),
    );
  },
};
