// Service and instance names from workload metadata, by rules in the syntax of SkyWalking's
// metadata-service-mapping.yaml, read as its FieldsHelper reads them (apache/skywalking oap-server/
// server-library/library-util/.../FieldsHelper.java, init and inflate):
//  - `${…}` runs to the first `}`; inside, candidates split on `,` and keys on `.`, empty pieces dropped and
//    nothing trimmed (so `${LABELS.app,}` is one candidate, and in `${NAME, NAMESPACE}` the second key is
//    " NAMESPACE", space included); `"x.y/z"` quotes a key holding dots; keys match case-insensitively;
//  - a `${…}` is the first candidate whose value is a non-empty string other than "-", else "-";
//  - text before each `${…}` stands as written.
// One deliberate difference (receiver/README.md): text after the last `${…}` is kept, where FieldsHelper
// drops it (it never calls appendTail). Rules are parsed once, at startup; a rule that cannot mean what was
// written (empty, an unclosed `${` or quote) throws naming the rule and the column.
import { MetadataTree, lookupString } from './metadata-struct';

/** SkyWalking's default rules (oap-server/server-starter/src/main/resources/metadata-service-mapping.yaml). */
export const DEFAULT_SERVICE_NAME_RULE =
  '${LABELS."service.istio.io/canonical-name",LABELS."app.kubernetes.io/name",LABELS.app,LABELS.k8s-app,SERVICE}.${NAMESPACE}';
export const DEFAULT_INSTANCE_NAME_RULE = '${NAME}';

/** What FieldsHelper gives a `${…}` none of whose candidates has a value. */
export const MISSING_VALUE = '-';

export interface NamingRule {
  readonly source: string;
  /** Keys that will rarely match what was meant (whitespace kept in a key): to log at startup. */
  readonly warnings: readonly string[];
  apply(metadata: MetadataTree): string;
}

/** One `${…}`: candidate key paths, tried in order. */
type Expression = readonly (readonly string[])[];
type Piece = string | Expression;

/** Parses `rule`; `what` names it in errors (e.g. "service name rule"). */
export function compileNamingRule(rule: string, what = 'naming rule'): NamingRule {
  const fail = (message: string, at: number): never => {
    throw new Error(`invalid ${what} ${JSON.stringify(rule)}: ${message} at column ${at + 1}`);
  };
  if (rule.trim() === '') fail('it is empty', 0);
  const pieces: Piece[] = [];
  const warnings: string[] = [];
  let pos = 0;
  for (;;) {
    const open = rule.indexOf('${', pos);
    if (open < 0) break;
    // FieldsHelper's `\$\{(.+?)}`: at least one character, up to the first `}`.
    const close = rule.indexOf('}', open + 3);
    if (close < 0) fail('"${" is never closed', open);
    if (open > pos) pieces.push(rule.slice(pos, open));
    pieces.push(expression(rule.slice(open + 2, close), open + 2, fail, warnings, what));
    pos = close + 1;
  }
  if (pos < rule.length) pieces.push(rule.slice(pos));
  return {
    source: rule,
    warnings,
    apply(metadata: MetadataTree): string {
      let out = '';
      for (const piece of pieces) out += typeof piece === 'string' ? piece : firstValue(metadata, piece) ?? MISSING_VALUE;
      return out;
    },
  };
}

/** The first candidate with a value (a non-empty string other than "-"), or undefined. */
export function firstValue(metadata: MetadataTree, candidates: Expression): string | undefined {
  for (const path of candidates) {
    const v = lookupString(metadata, ...path);
    if (v !== '' && v !== MISSING_VALUE) return v;
  }
  return undefined;
}

/** Splitter.on(',').omitEmptyStrings(), then each candidate on '.', quoted runs joined back, quotes removed. */
function expression(
  body: string, at: number, fail: (message: string, at: number) => never, warnings: string[], what: string,
): Expression {
  const candidates: string[][] = [];
  for (const candidate of body.split(',')) {
    if (candidate === '') continue;
    const keys: string[] = [];
    let quoted: string | undefined;
    for (const token of candidate.split('.')) {
      if (token === '') continue;
      if (quoted === undefined && token.startsWith('"')) quoted = token;
      else if (quoted !== undefined) quoted += `.${token}`;
      else keys.push(token);
      if (quoted !== undefined && token.endsWith('"')) {
        keys.push(quoted.replaceAll('"', ''));
        quoted = undefined;
      }
    }
    // FieldsHelper silently drops an unclosed quoted key, turning `LABELS."app` into `LABELS`.
    if (quoted !== undefined) fail(`quoted key ${quoted} is never closed`, at + body.indexOf(quoted));
    for (const key of keys) {
      if (key !== key.trim()) {
        warnings.push(`${what}: key ${JSON.stringify(key)} keeps its whitespace, as SkyWalking's FieldsHelper does; ` +
          `it matches only a metadata key spelled with it (write ${JSON.stringify(key.trim())} to mean that key)`);
      }
    }
    if (keys.length > 0) candidates.push(keys);
  }
  return candidates;
}
