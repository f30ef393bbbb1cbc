// The one `helm template` command line both renderers run (`npm run render`: tools/render-stack.ts, async;
// the policy pack: tools/render-release.ts, sync), so what the pack judges is rendered as the render shows it.

/** GKE's regular channel: the Kubernetes version charts are rendered for. */
export const KUBE_VERSION = '1.34.0';

export function helmTemplateArgs(release: string, chartDir: string, namespace: string, valuesFile: string): string[] {
  return ['template', release, chartDir, '--namespace', namespace, '--values', valuesFile, '--kube-version', KUBE_VERSION, '--include-crds'];
}
