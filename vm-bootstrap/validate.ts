// Input checks for the VM bootstrap renderer. Each throws an Error naming the field, the value and what
// is allowed, so a bad stack output fails `pulumi preview` instead of a VM's boot.
import { X509Certificate } from "node:crypto";
import { isIPv4 } from "node:net";

export function fail(field: string, value: unknown, allowed: string): never {
    throw new Error(`vm-bootstrap: ${field} = ${JSON.stringify(value)} is invalid: expected ${allowed}`);
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsName = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function dnsLabelOf(field: string, value: string): string {
    if (!dnsLabel.test(value)) fail(field, value, "a DNS label (lowercase letters, digits and '-', at most 63)");
    return value;
}

export function dnsNameOf(field: string, value: string): string {
    if (!dnsName.test(value)) fail(field, value, "a DNS name (lowercase dot-separated labels)");
    return value;
}

/** Istio ids (cluster id, mesh id, network): letters, digits, '-', '_' and '.', alphanumeric at both ends. */
export function istioIdOf(field: string, value: string): string {
    if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$/.test(value)) {
        fail(field, value, "an id of letters, digits, '-', '_' and '.', alphanumeric at both ends (e.g. Kubernetes, mesh1)");
    }
    return value;
}

export function ipv4Of(field: string, value: string): string {
    if (!isIPv4(value)) fail(field, value, "an IPv4 address like 10.128.0.7");
    return value;
}

export function portOf(field: string, value: number): number {
    if (!Number.isInteger(value) || value < 1 || value > 65535) fail(field, value, "an integer port 1..65535");
    return value;
}

/** "IP:port", the only form an Envoy on a VM can reach without cluster DNS. */
export function ipv4PortOf(field: string, value: string): string {
    const match = /^([^:]+):(\d+)$/.exec(value);
    if (!match || !isIPv4(match[1]) || Number(match[2]) < 1 || Number(match[2]) > 65535) {
        fail(field, value, "an IPv4 address and port like 10.128.0.9:11800 (a VM's Envoy cannot resolve cluster DNS)");
    }
    return value;
}

/** The Kubernetes API address as GKE gives it: a bare IP (or DNS name), optionally with :port, no scheme. */
export function endpointOf(field: string, value: string): string {
    const match = /^([^:/]+)(?::(\d+))?$/.exec(value);
    const hostOk = match !== null && (isIPv4(match[1]) || dnsName.test(match[1]));
    const portOk = match?.[2] === undefined || (Number(match[2]) >= 1 && Number(match[2]) <= 65535);
    if (!hostOk || !portOk) fail(field, value, "an IPv4 address or DNS name with optional :port, no scheme or path (GKE's cluster endpoint)");
    return value;
}

/** A PEM certificate that really parses; GKE's masterAuth.clusterCaCertificate is base64 and must be decoded first. */
export function pemCertificateOf(field: string, value: string): string {
    const begin = "-----BEGIN CERTIFICATE-----";
    if (!value.includes(begin)) {
        fail(field, value.slice(0, 40) + (value.length > 40 ? "…" : ""),
            `a PEM certificate starting with ${begin} (decode GKE's base64 clusterCaCertificate first)`);
    }
    try {
        new X509Certificate(value);
    } catch (error) {
        fail(field, value.slice(0, 40) + "…", `a PEM certificate that parses (${(error as Error).message})`);
    }
    return value.endsWith("\n") ? value : `${value}\n`;
}

/** A SHA-256 as sha256sum prints it: what a pinned package must hash to. */
export function sha256Of(field: string, value: string): string {
    if (!/^[0-9a-f]{64}$/.test(value)) fail(field, value, "64 lowercase hex digits, as sha256sum prints them");
    return value;
}

export function versionOf(field: string, value: string, pattern: RegExp, example: string): string {
    if (!pattern.test(value)) fail(field, value, `a version like ${example}`);
    return value;
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envNameOf(field: string, value: string): string {
    if (!envName.test(value)) fail(field, value, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    return value;
}

/** Env values travel line-based (env files), so a newline or NUL would forge another variable. */
export function envValueOf(field: string, value: string): string {
    if (typeof value !== "string" || /[\n\r\0]/.test(value)) fail(field, value, "a string without newlines or NUL");
    return value;
}

// Kubernetes label syntax: optional DNS-subdomain prefix, name of at most 63 [A-Za-z0-9._-], value likewise.
const labelName = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function labelsOf(field: string, labels: Record<string, string>): Record<string, string> {
    for (const [key, value] of Object.entries(labels)) {
        if (!labelName.test(key)) fail(`${field} key`, key, "a Kubernetes label name like app or app.kubernetes.io/name");
        if (typeof value !== "string" || !labelValue.test(value)) {
            fail(`${field}[${key}]`, value, "a Kubernetes label value (at most 63 of [A-Za-z0-9._-], alphanumeric at both ends)");
        }
    }
    return labels;
}

export function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
    if (!(allowed as readonly string[]).includes(value)) fail(field, value, `one of ${allowed.join(", ")}`);
    return value as T;
}
