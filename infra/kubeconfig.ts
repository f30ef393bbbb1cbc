// A kubeconfig built only from the cluster's outputs; credentials come from gke-gcloud-auth-plugin at
// run time, so no token is ever stored in the stack. It points at the control plane's DNS endpoint, which
// Google fronts with a publicly trusted certificate (as `gcloud container clusters get-credentials
// --dns-endpoint` writes it), so it carries no cluster CA: that CA signs only the IP endpoints' certificate.
import { stringify } from 'yaml';

export interface KubeconfigInput {
  /** Context/cluster name inside the kubeconfig. */
  name: string;
  /** The control plane's DNS endpoint (gke-….gke.goog), without scheme. */
  endpoint: string;
}

export function renderKubeconfig(k: KubeconfigInput): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: k.name, cluster: { server: `https://${k.endpoint}` } }],
    users: [{
      name: k.name,
      user: {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: 'gke-gcloud-auth-plugin',
          installHint: 'Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin',
          provideClusterInfo: true,
          interactiveMode: 'Never',
        },
      },
    }],
    contexts: [{ name: k.name, context: { cluster: k.name, user: k.name } }],
    'current-context': k.name,
  }, { lineWidth: 0 });
}
