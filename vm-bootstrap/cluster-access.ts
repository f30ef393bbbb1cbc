// What a VM's Google service account needs on the cluster for bootstrap.sh, and nothing more. infra/
// binds these rules in a Role in the workload's namespace to the subject below (GKE accepts a Google
// service account as an RBAC User named by its email).

export interface PolicyRule {
    apiGroups: string[];
    resources: string[];
    resourceNames: string[];
    verbs: string[];
}

export const rootCertConfigMap = "istio-ca-root-cert";

/** The two calls bootstrap.sh makes: mint the istio-token of one service account, read the mesh root. */
export function vmBootstrapRbacRules(serviceAccount: string): PolicyRule[] {
    return [
        { apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: [serviceAccount], verbs: ["create"] },
        { apiGroups: [""], resources: ["configmaps"], resourceNames: [rootCertConfigMap], verbs: ["get"] },
    ];
}

export function vmBootstrapRbacSubject(googleServiceAccountEmail: string): { kind: "User"; name: string; apiGroup: string } {
    return { kind: "User", name: googleServiceAccountEmail, apiGroup: "rbac.authorization.k8s.io" };
}

/**
 * GKE authenticates a Google identity only if its access token carries the userinfo.email scope, and
 * only if the account holds container.clusters.get in the project; authorisation then comes from the Role
 * above. The scopes stay broad on purpose: IAM bounds the account (to this one permission), and the
 * workload cannot reach the metadata server for the token at all (bootstrap.sh's iptables rule).
 */
/**
 * The VM's only project permission, as a custom role: roles/container.clusterViewer would add listing
 * clusters and reading the project. GKE clusters have no IAM policy of their own, so the grant cannot be
 * narrower than the project.
 */
export const vmClusterPermissions = ["container.clusters.get"];

export const vmAccessScopes = ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email"];
