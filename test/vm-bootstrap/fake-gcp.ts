// Loopback stand-ins for what a booting VM talks to: the GCE metadata server (plain HTTP, like the real
// one) and the cluster's Kubernetes API (HTTPS with a throwaway CA, so the script's CA check is real).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { AddressInfo } from "node:net";
import { join } from "node:path";
import { PolicyRule, vmBootstrapRbacRules } from "../../vm-bootstrap/cluster-access";

export interface TestPki {
    /** CA that signed the fake API server's certificate (the "cluster CA"). */
    clusterCaPem: string;
    /** A CA that did not: a VM given it must refuse the API. */
    otherCaPem: string;
    /** The mesh root the fake ConfigMap istio-ca-root-cert serves. */
    meshRootPem: string;
    serverKeyPem: string;
    serverCertPem: string;
}

function openssl(dir: string, ...args: string[]): void {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Generates the certificates with the openssl CLI in `dir`. */
export function makePki(dir: string): TestPki {
    for (const name of ["cluster-ca", "other-ca", "mesh-root"]) {
        openssl(dir, "req", "-x509", ...ec, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "1", "-subj", `/CN=meshscope-test-${name}`);
    }
    writeFileSync(join(dir, "san.cnf"), "subjectAltName=IP:127.0.0.1\n");
    openssl(dir, "req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "cluster-ca.pem", "-CAkey", "cluster-ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "1", "-extfile", join(dir, "san.cnf"));
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    return {
        clusterCaPem: read("cluster-ca.pem"),
        otherCaPem: read("other-ca.pem"),
        meshRootPem: read("mesh-root.pem"),
        serverKeyPem: read("server.key"),
        serverCertPem: read("server.pem"),
    };
}

export interface RecordedRequest {
    server: "metadata" | "kube";
    method: string;
    path: string;
    headers: http.IncomingHttpHeaders;
    body: string;
}

/** Whose Role the fake cluster applies: vmBootstrapRbacRules(serviceAccount) in namespace. */
export interface ClusterGrant {
    namespace: string;
    serviceAccount: string;
}

export const googleAccessToken = "ya29.meshscope-test-access-token";

export function mintedToken(grant: ClusterGrant): string {
    return `eyJhbGciOiJSUzI1NiJ9.meshscope-test-${grant.namespace}-${grant.serviceAccount}.sig`;
}

function readBody(request: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        request.on("error", reject);
    });
}

function send(response: http.ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
    response.writeHead(status, { "Content-Type": contentType });
    response.end(typeof body === "string" ? body : JSON.stringify(body));
}

function kubeStatus(response: http.ServerResponse, code: number, message: string): void {
    send(response, code, { kind: "Status", apiVersion: "v1", status: "Failure", message, code });
}

export class FakeGcp {
    readonly requests: RecordedRequest[] = [];
    /** Instance metadata attributes served under instance/attributes/. */
    attributes: Record<string, string> = {};
    grant: ClusterGrant = { namespace: "", serviceAccount: "" };

    private constructor(
        private readonly metadataServer: http.Server,
        private readonly kubeServer: https.Server,
        private readonly meshRootPem: string,
    ) {}

    static async start(pki: TestPki): Promise<FakeGcp> {
        const metadataServer = http.createServer();
        const kubeServer = https.createServer({ key: pki.serverKeyPem, cert: pki.serverCertPem });
        const fake = new FakeGcp(metadataServer, kubeServer, pki.meshRootPem);
        metadataServer.on("request", (request, response) => void fake.record("metadata", request, response));
        kubeServer.on("request", (request, response) => void fake.record("kube", request, response));
        await Promise.all([metadataServer, kubeServer].map((server) =>
            new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))));
        return fake;
    }

    get metadataUrl(): string {
        return `http://127.0.0.1:${(this.metadataServer.address() as AddressInfo).port}/computeMetadata/v1`;
    }

    /** host:port, the form of meshscope-cluster-endpoint. */
    get kubeEndpoint(): string {
        return `127.0.0.1:${(this.kubeServer.address() as AddressInfo).port}`;
    }

    async close(): Promise<void> {
        for (const server of [this.metadataServer, this.kubeServer]) {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
    }

    private async record(server: "metadata" | "kube", request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
        const body = await readBody(request);
        const recorded: RecordedRequest = { server, method: request.method ?? "", path: request.url ?? "", headers: request.headers, body };
        this.requests.push(recorded);
        if (server === "metadata") this.serveMetadata(recorded, response);
        else this.serveKube(recorded, response);
    }

    private serveMetadata(request: RecordedRequest, response: http.ServerResponse): void {
        // The real server refuses requests without this header (SSRF protection).
        if (request.headers["metadata-flavor"] !== "Google") return send(response, 403, "Missing Metadata-Flavor:Google header", "text/plain");
        const path = request.path.replace(/^\/computeMetadata\/v1\//, "");
        const attribute = /^instance\/attributes\/([^/?]+)$/.exec(path);
        if (attribute !== null) {
            const value = this.attributes[attribute[1]];
            return value === undefined ? send(response, 404, "not found", "text/plain") : send(response, 200, value, "application/text");
        }
        if (path === "instance/service-accounts/default/token") {
            return send(response, 200, { access_token: googleAccessToken, expires_in: 3599, token_type: "Bearer" });
        }
        send(response, 404, "not found", "text/plain");
    }

    /** RBAC as the API server applies it: the Role infra/ binds to the VM, for the granted account. */
    private allowed(request: RecordedRequest): boolean {
        const match = /^\/api\/v1\/namespaces\/([^/]+)\/([^/]+)\/([^/?]+)(?:\/([^/?]+))?$/.exec(request.path);
        if (match === null || match[1] !== this.grant.namespace) return false;
        const [, , resource, name, subresource] = match;
        const verb = ({ POST: "create", GET: "get" } as Record<string, string>)[request.method];
        const full = subresource === undefined ? resource : `${resource}/${subresource}`;
        return vmBootstrapRbacRules(this.grant.serviceAccount).some((rule: PolicyRule) =>
            rule.apiGroups.includes("") && rule.resources.includes(full) && rule.resourceNames.includes(name) && rule.verbs.includes(verb));
    }

    private serveKube(request: RecordedRequest, response: http.ServerResponse): void {
        if (request.headers.authorization !== `Bearer ${googleAccessToken}`) return kubeStatus(response, 401, "Unauthorized");
        if (!this.allowed(request)) return kubeStatus(response, 403, `forbidden: ${request.method} ${request.path}`);
        const { namespace, serviceAccount } = this.grant;
        if (request.method === "POST" && request.path.endsWith("/token")) {
            let tokenRequest: { apiVersion?: string; kind?: string; spec?: { audiences?: string[]; expirationSeconds?: number } };
            try {
                tokenRequest = JSON.parse(request.body);
            } catch {
                return kubeStatus(response, 400, "body is not JSON");
            }
            const spec = tokenRequest.spec ?? {};
            if (tokenRequest.apiVersion !== "authentication.k8s.io/v1" || tokenRequest.kind !== "TokenRequest" ||
                JSON.stringify(spec.audiences) !== JSON.stringify(["istio-ca"]) || spec.expirationSeconds !== 3600) {
                return kubeStatus(response, 400, "not an istio-ca TokenRequest for 3600 s");
            }
            return send(response, 201, {
                kind: "TokenRequest",
                apiVersion: "authentication.k8s.io/v1",
                metadata: { name: serviceAccount, namespace },
                spec: { ...spec, boundObjectRef: null },
                status: { token: mintedToken(this.grant), expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() },
            });
        }
        send(response, 200, {
            kind: "ConfigMap",
            apiVersion: "v1",
            metadata: { name: "istio-ca-root-cert", namespace },
            data: { "root-cert.pem": this.meshRootPem },
        });
    }
}
