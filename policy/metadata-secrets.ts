// Instance metadata is readable by anyone with compute.instances.get and by every process on the VM (and,
// for nodes, by pods that reach the metadata server): it is never a place for a token, key or password,
// Pulumi secret or not. Boot-time credentials are minted on the VM (DESIGN.md section 4) or read from
// Secret Manager.
import { CLUSTER, NODE_POOL, PROJECT_METADATA, PROJECT_METADATA_ITEM, VM_TYPES } from './gcp-types';
import { at, isUnknown, Props, ResourceRule, RuleContext } from './rule';
import { isEmptyValue, secretShapeOf, secretWordIn } from './secret-values';

/** GCE's own metadata keys whose names contain a secret word but whose values are not secret. */
const NOT_SECRET_KEYS: Record<string, string> = {
  'block-project-ssh-keys': 'a TRUE/FALSE switch',
  'ssh-keys': 'public SSH keys',
  sshKeys: 'public SSH keys (legacy name)',
};

function entryProblems(path: string, key: string, value: unknown, ctx: RuleContext): string[] {
  const problems: string[] = [];
  // A secret-named key with an unknown value is undecided; its name alone does not condemn it (it may be empty).
  if (isUnknown(value)) return (ctx.undecided(value), []);
  const shape = secretShapeOf(value);
  if (shape) problems.push(`${path}["${key}"] holds ${shape}; allowed: no credentials in metadata (mint them at boot or read Secret Manager)`);
  const word = secretWordIn(key);
  if (word && !(key in NOT_SECRET_KEYS) && !isEmptyValue(value) && !shape) {
    problems.push(`${path}["${key}"] is named like a secret ("${word}") and has a value; allowed: no tokens, keys, passwords or secrets in metadata`);
  }
  return problems;
}

function mapProblems(path: string, metadata: unknown, ctx: RuleContext): string[] {
  if (isUnknown(metadata)) return (ctx.undecided(metadata), []);
  if (!metadata || typeof metadata !== 'object') return [];
  return Object.entries(metadata as Props).flatMap(([k, v]) => entryProblems(path, k, v, ctx));
}

export const noSecretsInMetadata: ResourceRule = {
  name: 'no-secrets-in-metadata',
  description: 'Instance, node and project metadata and startup scripts hold no tokens, keys, passwords or secrets, by key name or by value shape ' +
    '(PEM private key, JWT, key file, Google/GitHub/AWS tokens, bearer tokens, URLs with passwords, password assignments, cloud-init chpasswd).',
  types: [...VM_TYPES, NODE_POOL, CLUSTER, PROJECT_METADATA, PROJECT_METADATA_ITEM],
  validate(type, props, ctx) {
    if (type === NODE_POOL || type === CLUSTER) return mapProblems('nodeConfig.metadata', at(props, 'nodeConfig.metadata'), ctx);
    if (type === PROJECT_METADATA) return mapProblems('metadata', props.metadata, ctx);
    if (type === PROJECT_METADATA_ITEM) {
      if (isUnknown(props.key)) return (ctx.undecided(props.key), []);
      return typeof props.key === 'string' ? entryProblems('metadata', props.key, props.value, ctx) : [];
    }
    const problems = mapProblems('metadata', props.metadata, ctx);
    if (isUnknown(props.metadataStartupScript)) {
      ctx.undecided(props.metadataStartupScript);
      return problems;
    }
    const scriptShape = secretShapeOf(props.metadataStartupScript);
    if (scriptShape) problems.push(`metadataStartupScript holds ${scriptShape}; allowed: no credentials in the startup script`);
    return problems;
  },
};
