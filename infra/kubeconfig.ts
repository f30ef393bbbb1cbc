// A kubeconfig built only from the cluster's outputs; credentials come from gke-gcloud-auth-plugin at
// run time, so no token is ever stored in the stack.
import { stringify } from 'yaml';

export interface KubeconfigInput {
  /** Context/cluster name inside the kubeconfig. */
  name: string;
  /** The control plane's address (IP or host), without scheme. */
  endpoint: string;
  /** Base64-encoded PEM of the cluster CA, as GKE reports it. */
  caCertificateBase64: string;
}

export function renderKubeconfig(k: KubeconfigInput): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: k.name, cluster: { server: `https://${k.endpoint}`, 'certificate-authority-data': k.caCertificateBase64 } }],
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
