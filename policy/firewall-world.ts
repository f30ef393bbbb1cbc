// No firewall rule admits the internet, in whole or in pieces (0.0.0.0/1 + 128.0.0.0/1 is the world too),
// and a rule with no source admits everyone. The one exception is a rule the program declares its public
// entry point (the frontend), and even that may open only web ports to named targets: the mark is only
// text, so it must not unlock anything else.
import { FIREWALL } from './gcp-types';
import { beyondPublicEntryPoint, isAllowingIngress, isDeclaredPublic, PUBLIC_ENTRY_POINT_MARK, PUBLIC_ENTRY_POINT_PORTS, rangeOfSource, sourcesOf } from './firewall';
import { isInsideRange } from './ip-ranges';
import { isUnknown, nameOf, ResourceRule } from './rule';

export const noWorldOpenFirewall: ResourceRule = {
  name: 'no-world-open-firewall',
  description: 'No ingress rule admits a public source range (or no source at all, which GCE reads as 0.0.0.0/0), except a declared ' +
    `public entry point (description starting "${PUBLIC_ENTRY_POINT_MARK}"), which may open only TCP ${PUBLIC_ENTRY_POINT_PORTS.join('/')} to named targets.`,
  types: [FIREWALL],
  validate(_type, props, ctx) {
    if (!isAllowingIngress(props, ctx)) return [];
    const publicSources = sourcesOf(props, ctx).filter((s) => {
      const range = rangeOfSource(s);
      return range !== undefined && !isInsideRange(range);
    });
    if (publicSources.length === 0) return [];
    if (isUnknown(props.description)) {
      ctx.undecided(props.description);
      return [];
    }
    if (isDeclaredPublic(props)) {
      const beyond = beyondPublicEntryPoint(props);
      return beyond
        ? [`firewall rule ${nameOf(props)} is declared a public entry point and admits ${publicSources.join(', ')}, but ${beyond}; ` +
          `allowed for a public entry point: TCP ${PUBLIC_ENTRY_POINT_PORTS.join(' and ')} to named target tags or service accounts`]
        : [];
    }
    return publicSources.map((s) => `firewall rule ${nameOf(props)} admits ${s}, a public source, but is not a declared public entry point; allowed: ` +
      `private ranges, tags, service accounts, IAP or Google health checks, or a rule whose description starts with "${PUBLIC_ENTRY_POINT_MARK}"`);
  },
};
