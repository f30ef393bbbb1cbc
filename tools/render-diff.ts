// An object-level diff of two renders of a stack (base and head): which Kubernetes objects a change adds,
// removes or changes, and for a changed object which fields, as `pulumi preview` cannot show for what a Helm
// release renders. Objects are matched by apiVersion group, kind, namespace and name; lists of named items
// (containers, env, ports, volumes …) are matched by name, so one new env var is one field, not a shifted list.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { GCP_DIR } from './render-gcp';
import type { K8sObject, RenderedObject } from './render-stack';

export interface FieldChange {
  /** Dotted path; a named list item is `[name=<name>]`, another item `[<index>]`. */
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface ObjectChange {
  /** `Kind[.group] namespace/name` (cluster-scoped: `Kind[.group] name`). */
  id: string;
  change: 'added' | 'removed' | 'changed';
  /** Where the object comes from in head (base for a removed one): `release <name>` or `program <name>`. */
  origin: string;
  /** For a changed object, every field that differs. */
  fields: FieldChange[];
}

export interface DiffInput {
  object: K8sObject;
  origin: string;
}

export function objectId(o: K8sObject): string {
  const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
  return `${o.kind}${group} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The key a list item is matched by: its `name` when every item of both lists has a distinct one. */
function namedItems(a: unknown[], b: unknown[]): boolean {
  const names = (xs: unknown[]) => xs.map((x) => (isPlainObject(x) && typeof x.name === 'string' ? x.name : undefined));
  return [a, b].every((xs) => {
    const n = names(xs);
    return n.every((x) => x !== undefined) && new Set(n).size === n.length;
  });
}

/** Every field where `before` and `after` differ, as leaf paths (a whole subtree when one side lacks it). */
export function fieldChanges(before: unknown, after: unknown, at = ''): FieldChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => fieldChanges(before[k], after[k], at ? `${at}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    if (before.length && after.length && namedItems(before, after)) {
      const byName = (xs: unknown[]) => new Map(xs.map((x) => [(x as { name: string }).name, x]));
      const [b, a] = [byName(before), byName(after)];
      const names = [...new Set([...b.keys(), ...a.keys()])];
      return names.flatMap((n) => fieldChanges(b.get(n), a.get(n), `${at}[name=${n}]`));
    }
    if (before.length === after.length) return before.flatMap((x, i) => fieldChanges(x, after[i], `${at}[${i}]`));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: at, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) }];
}

/** The objects added, removed and changed from base to head, in a stable order (by id). */
export function diffRenders(base: DiffInput[], head: DiffInput[]): ObjectChange[] {
  const index = (xs: DiffInput[]) => new Map(xs.map((x) => [objectId(x.object), x]));
  const [b, h] = [index(base), index(head)];
  const ids = [...new Set([...b.keys(), ...h.keys()])].sort();
  return ids.flatMap((id): ObjectChange[] => {
    const [was, is] = [b.get(id), h.get(id)];
    if (!was) return [{ id, change: 'added', origin: is!.origin, fields: [] }];
    if (!is) return [{ id, change: 'removed', origin: was.origin, fields: [] }];
    const fields = fieldChanges(was.object, is.object);
    return fields.length ? [{ id, change: 'changed', origin: is.origin, fields }] : [];
  });
}

/** A render folder as `npm run render` writes it (`<dir>/<namespace>/<file>.yaml`, each headed `# <origin>`). */
export function readRenderDir(dir: string): DiffInput[] {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such render folder (write one with npm run render -- --stack <name> --out <folder>)`);
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== '_releases' && d.name !== GCP_DIR) // Kubernetes objects only
    .flatMap((d) => fs.readdirSync(path.join(dir, d.name)).filter((f) => f.endsWith('.yaml')).map((f) => {
      const text = fs.readFileSync(path.join(dir, d.name, f), 'utf8');
      const origin = /^# (.+)\n/.exec(text)?.[1] ?? 'unknown';
      return { object: parse(text) as K8sObject, origin };
    }));
}

export function fromRendered(objects: RenderedObject[]): DiffInput[] {
  return objects.map((o) => ({ object: o.object, origin: o.origin }));
}

/** A value as one short line of a Markdown table. */
function shown(v: unknown, max = 100): string {
  if (v === undefined) return '—';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const cut = text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
  return `\`${cut.replace(/`/g, "'").replace(/\|/g, '\\|').replace(/\n/g, '⏎')}\``;
}

/**
 * The lines of a multi-line text that one side has and the other lacks, in order (`-` base, `+` head), from a
 * longest common subsequence of lines: a ConfigMap holding a whole config file shows its changed lines.
 */
export function lineDiff(before: string, after: string): string[] {
  const [a, b] = [before.split('\n'), after.split('\n')];
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out: string[] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) [i, j] = [i + 1, j + 1];
    else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  return out;
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.includes('\n');

/** GitHub refuses comments over 65536 characters; the diff stops listing fields before that. */
const MAX_MARKDOWN = 60_000;

/** The diff as a Markdown comment: a summary line, one table row per object, then each changed object's fields. */
export function renderDiffMarkdown(stack: string, changes: ObjectChange[], labels: { base: string; head: string }): string {
  const count = (c: ObjectChange['change']) => changes.filter((x) => x.change === c).length;
  const lines = [`### Kubernetes objects of \`${stack}\`: ${labels.base} → ${labels.head}`, ''];
  if (changes.length === 0) {
    lines.push('No Kubernetes object changes (every Helm release rendered by `helm template` from the chart cache, and the program\'s own objects).');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`${count('added')} added, ${count('removed')} removed, ${count('changed')} changed (rendered by \`helm template\` from the chart cache, as \`up\` installs them; \`npm run render-diff\`).`, '');
  lines.push('| object | change | from |', '|---|---|---|');
  for (const c of changes) lines.push(`| \`${c.id}\` | ${c.change}${c.change === 'changed' ? ` (${c.fields.length} field${c.fields.length === 1 ? '' : 's'})` : ''} | ${c.origin} |`);
  const details: string[] = [];
  for (const c of changes.filter((x) => x.change === 'changed')) {
    details.push('', `#### \`${c.id}\``, '', '| field | before | after |', '|---|---|---|');
    const texts = c.fields.filter((f) => isText(f.before) && isText(f.after));
    for (const f of c.fields) {
      if (texts.includes(f)) details.push(`| \`${f.path}\` | text, ${(f.before as string).split('\n').length} lines | ${lineDiff(f.before as string, f.after as string).length} lines differ, below |`);
      else details.push(`| \`${f.path}\` | ${shown(f.before)} | ${shown(f.after)} |`);
    }
    for (const f of texts) details.push('', `\`${f.path}\`:`, '```diff', ...lineDiff(f.before as string, f.after as string), '```');
  }
  let text = lines.join('\n');
  for (const line of details) {
    if (text.length + line.length > MAX_MARKDOWN) {
      text += '\n\n[… the field list is cut to fit a comment; run `npm run render-diff` for all of it]';
      break;
    }
    text += `\n${line}`;
  }
  return `${text}\n`;
}
