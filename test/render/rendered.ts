// Renders each stack once per mocha process (program under mocks + real helm from the chart cache), shared
// by every render test; the readers over rendered objects come from tools/.
import '../chart-cache-guard';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../tools/chart-cache';
import { RenderedStack, renderStack } from '../../tools/render-stack';

export * from '../../tools/rendered-objects';

export const STACKS = ['dev', 'prod'] as const;

const cache = new Map<string, Promise<RenderedStack>>();

/** The stack rendered as `pulumi up` would apply it; `config` overrides make a fresh, uncached render. */
export function rendered(stack: string, config?: Record<string, unknown>): Promise<RenderedStack> {
  if (config) return renderStack(stack, { config });
  if (!cache.has(stack)) cache.set(stack, renderStack(stack));
  return cache.get(stack)!;
}


/** The stack rendered with its `meshscope:observability.alsTarget` set (the rest of that key as in the stack file). */
export function renderedWithAlsTarget(stack: string, alsTarget: 'receiver' | 'oap'): Promise<RenderedStack> {
  const file = parse(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), 'utf8')) as { config: Record<string, Record<string, unknown>> };
  const observability = file.config['meshscope:observability'];
  if (observability.alsTarget === alsTarget) return rendered(stack);
  const key = `${stack}/alsTarget=${alsTarget}`;
  if (!cache.has(key)) cache.set(key, renderStack(stack, { config: { 'meshscope:observability': { ...observability, alsTarget } } }));
  return cache.get(key)!;
}
