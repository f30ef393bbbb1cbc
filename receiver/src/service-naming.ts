// Service and instance names from workload metadata, by rules in the syntax of SkyWalking's
// metadata-service-mapping.yaml (apache/skywalking oap-server/server-starter/src/main/resources/, read by
// library-util FieldsHelper): text stands as written, `${A,B,C}` is the first of A, B, C that is non-empty
// (and not "-"), `A.B` walks into a nested struct, `"x.y/z"` quotes a key holding dots, keys match
// case-insensitively. Unlike FieldsHelper (which writes "-"), a field with no value contributes ''.
// Rules are parsed once, at startup; a bad one throws naming the rule and the column.
import { MetadataTree, lookupString } from './metadata-struct';

/**
 * SkyWalking's default service rule. `SERVICE` (last) is what finds the canonical name in Istio 1.24+
 * Struct peers, whose keys are lowercase and flat (`service`, `namespace`, `name`).
 */
export const DEFAULT_SERVICE_NAME_RULE =
  '${LABELS."service.istio.io/canonical-name",LABELS."app.kubernetes.io/name",LABELS.app,LABELS.k8s-app,SERVICE}.${NAMESPACE}';
export const DEFAULT_INSTANCE_NAME_RULE = '${NAME}';

export interface NamingRule {
  readonly source: string;
  apply(metadata: MetadataTree): string;
}

/** One `${…}`: candidate key paths, tried in order. */
type Expression = readonly (readonly string[])[];
type Piece = string | Expression;

/** Parses `rule`; `what` names it in errors (e.g. "service name rule"). */
export function compileNamingRule(rule: string, what = 'naming rule'): NamingRule {
  const pieces = new RuleParser(rule, what).parse();
  return {
    source: rule,
    apply(metadata: MetadataTree): string {
      let out = '';
      for (const piece of pieces) out += typeof piece === 'string' ? piece : firstValue(metadata, piece);
      return out;
    },
  };
}

function firstValue(metadata: MetadataTree, candidates: Expression): string {
  for (const path of candidates) {
    const v = lookupString(metadata, ...path);
    if (v !== '' && v !== '-') return v;
  }
  return '';
}

/** Characters that end a bare key (or may not appear in one). */
const BARE_KEY_STOP = new Set(['.', ',', '}', '"', '{', '$']);

class RuleParser {
  private pos = 0;

  constructor(private readonly rule: string, private readonly what: string) {}

  private fail(message: string, at: number): never {
    throw new Error(`invalid ${this.what} ${JSON.stringify(this.rule)}: ${message} at column ${at + 1}`);
  }

  parse(): Piece[] {
    if (this.rule.trim() === '') this.fail('it is empty', 0);
    const pieces: Piece[] = [];
    let literal = '';
    while (this.pos < this.rule.length) {
      if (this.rule.startsWith('${', this.pos)) {
        if (literal) pieces.push(literal);
        literal = '';
        pieces.push(this.expression());
      } else {
        literal += this.rule[this.pos++];
      }
    }
    if (literal) pieces.push(literal);
    return pieces;
  }

  /** `${` candidate (`,` candidate)* `}` */
  private expression(): Expression {
    const open = this.pos;
    this.pos += 2;
    const candidates: string[][] = [];
    for (;;) {
      candidates.push(this.candidate(open));
      const c = this.rule[this.pos];
      if (c === '}') {
        this.pos++;
        return candidates;
      }
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === undefined) this.fail('"${" is never closed', open);
      this.fail(`unexpected ${JSON.stringify(c)}`, this.pos);
    }
  }

  /** key (`.` key)* */
  private candidate(open: number): string[] {
    const path: string[] = [];
    for (;;) {
      path.push(this.key(open, path.length === 0));
      if (this.rule[this.pos] !== '.') return path;
      this.pos++;
    }
  }

  private key(open: number, first: boolean): string {
    const start = this.pos;
    const c = this.rule[start];
    if (c === undefined) this.fail('"${" is never closed', open);
    if (c === '"') {
      const close = this.rule.indexOf('"', start + 1);
      if (close < 0) this.fail('quoted key is never closed', start);
      if (close === start + 1) this.fail('empty quoted key', start);
      this.pos = close + 1;
      const next = this.rule[this.pos];
      if (next !== undefined && next !== '.' && next !== ',' && next !== '}') {
        this.fail(`expected ".", "," or "}" after a quoted key, found ${JSON.stringify(next)}`, this.pos);
      }
      return this.rule.slice(start + 1, close);
    }
    while (this.pos < this.rule.length && !BARE_KEY_STOP.has(this.rule[this.pos])) {
      if (/\s/.test(this.rule[this.pos])) this.fail('whitespace in a key (quote the key if it is meant)', this.pos);
      this.pos++;
    }
    if (this.pos === start) {
      const found = this.rule[start];
      if (found === '.' || found === ',' || found === '}') this.fail(first ? 'empty field name' : 'empty key after "."', start);
      this.fail(`unexpected ${JSON.stringify(found)}`, start);
    }
    return this.rule.slice(start, this.pos);
  }
}
