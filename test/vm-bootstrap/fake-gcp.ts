// Loopback stand-ins for what a booting VM talks to: the GCE metadata server (plain HTTP, like the real
// one) and the cluster's Kubernetes API (HTTPS with a throwaway CA, so the script's CA check is real).
// Like the real ones, each hands out a new token at every call: the metadata server a new access token,
// the API a new JWT (with a real exp claim) for every TokenRequest.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
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

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A JWT shaped like a Kubernetes service account token (unsigned: only its shape and claims matter here). */
export function serviceAccountJwt(grant: ClusterGrant, issuedAt: number, seconds: number, serial: number): string {
    const claims = {
        aud: ["istio-ca"], exp: issuedAt + seconds, iat: issuedAt, iss: "https://container.googleapis.com/test",
        sub: `system:serviceaccount:${grant.namespace}:${grant.serviceAccount}`, jti: `meshscope-test-${serial}`,
    };
    return `${base64url({ alg: "RS256", kid: "test" })}.${base64url(claims)}.c2lnbmF0dXJl`;
}

/** The claims of a JWT, read back. */
export function jwtClaims(jwt: string): { exp: number; sub: string; jti: string } {
    return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
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
    /** Instance metadata attributes served under instance/attributes/; change them with update() while a VM waits. */
    attributes: Record<string, string> = {};
    grant: ClusterGrant = { namespace: "", serviceAccount: "" };
    /** Every Google access token the metadata server handed out, in order. */
    readonly accessTokens: string[] = [];
    /** Guest attributes the VM wrote, in order (namespace, key, value). */
    readonly guestAttributes: { namespace: string; key: string; value: string }[] = [];
    /** Every istio-token the API minted, in order. */
    readonly minted: string[] = [];
    /** How many API calls one access token is good for: a token handed out with minutes left outlives few retries. */
    accessTokenUses = Number.POSITIVE_INFINITY;
    /** API calls answered 403 before the Role binding "arrives", as when the VM boots before it. */
    refuseFirst = 0;
    /** The API does not answer at all: the cluster is down or unreachable. */
    kubeDown = false;
    private readonly uses = new Map<string, number>();
    private kubeCalls = 0;
    private waiters: { lastEtag: string; answer: () => void }[] = [];

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

    /** Resets what one scenario changed: counters, outages, refusals. */
    reset(): void {
        this.requests.length = 0;
        this.accessTokens.length = 0;
        this.guestAttributes.length = 0;
        this.minted.length = 0;
        this.uses.clear();
        this.kubeCalls = 0;
        this.accessTokenUses = Number.POSITIVE_INFINITY;
        this.refuseFirst = 0;
        this.kubeDown = false;
    }

    /** Changes attributes as `gcloud compute instances add-metadata` would, answering VMs that wait for a change. */
    update(changes: Record<string, string>): void {
        this.attributes = { ...this.attributes, ...changes };
        const waiting = this.waiters;
        this.waiters = [];
        for (const waiter of waiting) waiter.answer();
    }

    /** The attributes' ETag: changes exactly when their content does. */
    get etag(): string {
        return createHash("sha256").update(JSON.stringify(Object.entries(this.attributes).sort())).digest("hex").slice(0, 16);
    }

    async close(): Promise<void> {
        for (const waiter of this.waiters) waiter.answer();
        this.waiters = [];
        for (const server of [this.metadataServer, this.kubeServer]) {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
    }

    private mint(): string {
        const token = serviceAccountJwt(this.grant, Math.floor(Date.now() / 1000), 3600, this.minted.length + 1);
        this.minted.push(token);
        return token;
    }

    private async record(server: "metadata" | "kube", request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
        if (server === "kube" && this.kubeDown) {
            request.socket.destroy();
            return;
        }
        const body = await readBody(request);
        const recorded: RecordedRequest = { server, method: request.method ?? "", path: request.url ?? "", headers: request.headers, body };
        this.requests.push(recorded);
        if (server === "metadata") this.serveMetadata(recorded, response);
        else this.serveKube(recorded, response);
    }

    private serveMetadata(request: RecordedRequest, response: http.ServerResponse): void {
        // The real server refuses requests without this header (SSRF protection).
        if (request.headers["metadata-flavor"] !== "Google") return send(response, 403, "Missing Metadata-Flavor:Google header", "text/plain");
        const url = new URL(request.path, "http://metadata");
        const path = url.pathname.replace(/^\/computeMetadata\/v1\//, "");
        if (path === "instance/attributes/" && url.searchParams.get("recursive") === "true") {
            return this.serveAttributes(url.searchParams, response);
        }
        const attribute = /^instance\/attributes\/([^/?]+)$/.exec(path);
        if (attribute !== null) {
            const value = this.attributes[attribute[1]];
            return value === undefined ? send(response, 404, "not found", "text/plain") : send(response, 200, value, "application/text");
        }
        // Guest attributes: the VM writes them with PUT (GCE docs, "Set guest attributes from within a VM").
        const guest = /^instance\/guest-attributes\/([^/]+)\/([^/?]+)$/.exec(path);
        if (guest !== null && request.method === "PUT") {
            this.guestAttributes.push({ namespace: guest[1], key: guest[2], value: request.body });
            return send(response, 200, "", "text/plain");
        }
        if (path === "instance/service-accounts/default/token") {
            const token = `ya29.meshscope-test-access-token-${this.accessTokens.length + 1}`;
            this.accessTokens.push(token);
            return send(response, 200, { access_token: token, expires_in: 3599, token_type: "Bearer" });
        }
        send(response, 404, "not found", "text/plain");
    }

    /** instance/attributes/?recursive=true: all attributes as JSON with an ETag; wait_for_change holds the answer until it differs. */
    private serveAttributes(query: URLSearchParams, response: http.ServerResponse): void {
        const answer = () => {
            if (response.writableEnded || response.destroyed) return;
            response.writeHead(200, { "Content-Type": "application/json", ETag: this.etag });
            response.end(JSON.stringify(this.attributes));
        };
        const lastEtag = query.get("last_etag");
        if (query.get("wait_for_change") !== "true" || lastEtag === null || lastEtag !== this.etag) return answer();
        const waiter = { lastEtag, answer };
        this.waiters.push(waiter);
        const timer = setTimeout(() => {
            this.waiters = this.waiters.filter((w) => w !== waiter);
            answer();
        }, Number(query.get("timeout_sec") ?? "60") * 1000);
        timer.unref();
        response.on("close", () => clearTimeout(timer));
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

    /** GKE's view of a bearer: a token the metadata server handed out, within its uses. */
    private authenticated(authorization: string | undefined): boolean {
        const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
        if (token === undefined || !this.accessTokens.includes(token)) return false;
        const used = (this.uses.get(token) ?? 0) + 1;
        this.uses.set(token, used);
        return used <= this.accessTokenUses;
    }

    private serveKube(request: RecordedRequest, response: http.ServerResponse): void {
        this.kubeCalls += 1;
        if (!this.authenticated(request.headers.authorization)) return kubeStatus(response, 401, "Unauthorized");
        if (this.kubeCalls <= this.refuseFirst || !this.allowed(request)) return kubeStatus(response, 403, `forbidden: ${request.method} ${request.path}`);
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
                status: { token: this.mint(), expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() },
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

/**
 * The suite's fake metadata server and Kubernetes API, with their throwaway PKI: started before the suite's
 * first test and closed after its last (mocha hooks registered where this is called).
 */
export function useFakeGcp(): { readonly gcp: FakeGcp; readonly pki: TestPki } {
    let dir = "";
    const fake = {} as { gcp: FakeGcp; pki: TestPki };
    before(async () => {
        dir = mkdtempSync(join(tmpdir(), "meshscope-pki-"));
        fake.pki = makePki(dir);
        fake.gcp = await FakeGcp.start(fake.pki);
    });
    after(async () => {
        await fake.gcp?.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
    });
    return fake;
}
