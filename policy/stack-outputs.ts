// Stack outputs are read by every StackReference consumer and shown by `pulumi stack output`. The policy
// SDK hands policies secrets already unwrapped, so a pack cannot tell a pulumi.secret output from a plain
// one: the rule is therefore that no output carries a credential at all. Export where a secret lives (a
// Secret Manager id), never the secret.
import { isUnknown, knownContext, StackRule } from './rule';
import { isEmptyValue, secretShapeOf, secretWordIn } from './secret-values';

export const noSecretOutputs: StackRule = {
  name: 'no-secret-outputs',
  description: 'No stack output is named like a credential (token, key, password, secret) or holds one (PEM private key, JWT, key file, ' +
    'bearer or access token, URL with a password).',
  validate(outputs, ctx = knownContext()) {
    return Object.entries(outputs).flatMap(([name, value]) => {
      if (isUnknown(value)) return (ctx.undecided(value), []);
      const shape = secretShapeOf(value);
      if (shape) return [`stack output "${name}" holds ${shape}; allowed: no credentials in outputs (export a Secret Manager secret id instead)`];
      const word = secretWordIn(name);
      if (word && !isEmptyValue(value)) {
        return [`stack output "${name}" is named like a credential ("${word}"); allowed: no credentials in outputs (export a Secret Manager secret id instead)`];
      }
      return [];
    });
  },
};
