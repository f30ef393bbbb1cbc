// No firewall rule admits the whole internet, except a rule the program declares as the public entry point
// (the frontend); in a hybrid mesh everything else is reached from inside the VPC or through IAP.
import { FIREWALL } from './gcp-types';
import { isAllowingIngress, isDeclaredPublic, PUBLIC_ENTRY_POINT_MARK, sourcesOf, WORLD_RANGES } from './firewall';
import { nameOf, ResourceRule } from './rule';

export const noWorldOpenFirewall: ResourceRule = {
  name: 'no-world-open-firewall',
  description: `No firewall rule allows 0.0.0.0/0 or ::/0 except one declared the public entry point (description starting "${PUBLIC_ENTRY_POINT_MARK}").`,
  types: [FIREWALL],
  validate(_type, props) {
    if (!isAllowingIngress(props) || isDeclaredPublic(props)) return [];
    return sourcesOf(props)
      .filter((s) => WORLD_RANGES.includes(s))
      .map((s) => `firewall rule ${nameOf(props)} allows ${s} but is not a declared public entry point; allowed: ` +
        `the VPC's own ranges, tags or IAP, or a rule whose description starts with "${PUBLIC_ENTRY_POINT_MARK}"`);
  },
};
