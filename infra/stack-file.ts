// Reads a stack settings file (`Pulumi.<stack>.yaml`) into the raw config Pulumi hands the program
// (objects and lists as JSON text), for the tools that read stack files without Pulumi: the offline
// runner, `npm run render`, the doctor, preflight and open. A YAML error names the file, line and column.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import type { RawConfig } from './config';

export class StackFileError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'StackFileError';
  }
}

/** `Pulumi.<stack>.yaml` beside the project file. */
export function stackFilePath(repoRoot: string, stack: string): string {
  return path.join(repoRoot, `Pulumi.${stack}.yaml`);
}

/** The stacks that have a settings file, sorted. */
export function stacksWithFiles(repoRoot: string): string[] {
  return fs.readdirSync(repoRoot).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
}

/** The `config:` map of a stack file, as Pulumi passes it to the program. */
export function readStackFile(file: string): RawConfig & Record<string, string> {
  const shown = path.basename(file);
  if (!fs.existsSync(file)) throw new StackFileError(shown, 'no such file');
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const at = e.linePos?.[0];
      // The library's message repeats the source line under a caret; the first line says what is wrong.
      throw new StackFileError(shown, `${at ? `line ${at.line}, column ${at.col}: ` : ''}${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    throw e;
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new StackFileError(shown, 'expected a YAML mapping with a `config:` key');
  const config = (doc as { config?: unknown }).config ?? {};
  if (typeof config !== 'object' || Array.isArray(config) || config === null) throw new StackFileError(shown, '`config:` must be a mapping of keys to values');
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined || v === null) continue;
    raw[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return raw;
}
