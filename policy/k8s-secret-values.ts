// A ConfigMap, a literal env value or a chart value is plain text to anyone who can read the object (and to
// every `pulumi preview` diff): credentials belong in Secrets, referenced with `valueFrom.secretKeyRef`.
import { isUnknown, Props, RuleContext } from './rule';
import { isEmptyValue, secretShapeOf, secretWordIn } from './secret-values';
import { containersOf, kubernetesRule, podSpecOf } from './k8s-objects';

const ALLOWED = 'allowed: no credentials in plain objects (keep them in a Secret and reference it)';

function configMapProblems(o: Props, ctx: RuleContext): string[] {
  const problems: string[] = [];
  for (const field of ['data', 'binaryData'] as const) {
    const entries = o[field];
    if (isUnknown(entries)) { ctx.undecided(entries); continue; }
    for (const [key, value] of Object.entries((entries ?? {}) as Props)) {
      if (isUnknown(value)) { ctx.undecided(value); continue; }
      const text = field === 'binaryData' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value;
      const shape = secretShapeOf(text);
      if (shape) problems.push(`${field}["${key}"] holds ${shape}; ${ALLOWED}`);
      else if (secretWordIn(key) && !isEmptyValue(text)) problems.push(`${field}["${key}"] is named like a secret ("${secretWordIn(key)}") and has a value; ${ALLOWED}`);
    }
  }
  return problems;
}

function envProblems(o: Props, ctx: RuleContext): string[] {
  const pod = podSpecOf(o as never);
  if (!pod) return [];
  return containersOf(pod).flatMap(({ path, container }) => (Array.isArray(container?.env) ? container.env : []).flatMap((e: Props, i: number) => {
    const value = e?.value;
    if (isUnknown(value)) return (ctx.undecided(value), []);
    if (typeof value !== 'string' || isEmptyValue(value)) return [];
    const shape = secretShapeOf(value);
    if (shape) return [`${path}.env[${i}] ${e.name} holds ${shape}; ${ALLOWED}`];
    const word = typeof e.name === 'string' ? secretWordIn(e.name) : undefined;
    return word ? [`${path}.env[${i}] ${e.name} is named like a secret ("${word}") and has a literal value; ${ALLOWED}`] : [];
  }));
}

/** Chart values by shape, walked with their paths (names alone are not judged: charts name switches `…Secret`). */
function valueProblems(v: unknown, at: string, ctx: RuleContext): string[] {
  if (isUnknown(v)) return [];
  if (typeof v === 'string') {
    const shape = secretShapeOf(v);
    return shape ? [`${at} holds ${shape}; ${ALLOWED}`] : [];
  }
  if (Array.isArray(v)) return v.flatMap((x, i) => valueProblems(x, `${at}[${i}]`, ctx));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => valueProblems(x, at ? `${at}.${k}` : k, ctx));
  return [];
}

export const noSecretValues: ReturnType<typeof kubernetesRule> = kubernetesRule({
  name: 'k8s-no-secret-values',
  description: 'No credential in a ConfigMap (by key name or value shape), a container\'s literal env value (by name or shape) or a chart\'s values (by shape): '
    + 'PEM private keys, JWTs, key files, Google/GitHub/AWS tokens, bearer tokens, URLs with passwords, password assignments.',
  judge(o, ctx) {
    if (o.kind === 'ConfigMap') return configMapProblems(o, ctx);
    return envProblems(o, ctx);
  },
  judgeValues: (values, ctx) => valueProblems(values, '', ctx),
});
