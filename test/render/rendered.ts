// Renders each stack once per mocha process (program under mocks + real helm from the chart cache), shared
// by every render test; the readers over rendered objects come from tools/.
import '../chart-cache-guard';
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

