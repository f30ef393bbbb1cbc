// Names, network tags and labels shared by every component, derived from the stack so two stacks in one
// project never collide.

export const PROJECT_LABEL = 'meshscope';

/** Prefix of every physical name in a stack, e.g. `meshscope-dev`. */
export function stackPrefix(stack: string): string {
  return `${PROJECT_LABEL}-${stack}`;
}

/** The network tags the firewall table targets. */
export function networkTags(stack: string) {
  const p = stackPrefix(stack);
  return { node: `${p}-gke-node`, vm: `${p}-vm` } as const;
}

/** Labels every labellable resource carries (GCP label rules: lowercase, digits, `-`, `_`). */
export function projectLabels(stack: string): Record<string, string> {
  return { app: PROJECT_LABEL, stack: stack.toLowerCase().replace(/[^a-z0-9_-]/g, '-'), 'managed-by': 'pulumi' };
}

/** Google's IAP TCP forwarding range: the only source allowed to reach port 22. */
export const IAP_RANGE = '35.235.240.0/20';
