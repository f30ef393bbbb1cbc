// The WorkloadGroup's readiness probe, which the VM's mesh config carries too (as istioctl copies it into
// defaultConfig.readinessProbe): the VM's Istio agent runs it and reports to istiod, which takes an unhealthy
// VM out of the endpoints. Shape: istio.networking.v1alpha3.ReadinessProbe, WorkloadGroup spec.probe in
// Istio's crd-all.gen.yaml (exactly one of httpGet, tcpSocket, grpc, exec).
import { fail, portOf } from "./validate";

export interface ReadinessProbe {
    initialDelaySeconds?: number;
    timeoutSeconds?: number;
    periodSeconds?: number;
    successThreshold?: number;
    failureThreshold?: number;
    httpGet?: { path?: string; port: number; host?: string; scheme?: "HTTP" | "HTTPS" };
    tcpSocket?: { host?: string; port: number };
    grpc?: { port: number; service?: string };
    exec?: { command: string[] };
}

/**
 * istiod health-checks a WorkloadEntry (and drops it from the endpoints while unhealthy) only with this
 * annotation, and only for a proxy that names the entry in ISTIO_META_WORKLOAD_ENTRY (istio/istio
 * pilot/pkg/autoregistration/controller.go, pilot/pkg/serviceregistry/serviceentry/conversion.go).
 */
export const healthChecksAnnotation = { "proxy.istio.io/health-checks-enabled": "true" } as const;

/** A VM workload is ready when its port accepts connections, checked every 10 s. */
export function defaultReadinessProbe(port: number): ReadinessProbe {
    return { tcpSocket: { port }, periodSeconds: 10 };
}

const handlers = ["httpGet", "tcpSocket", "grpc", "exec"] as const;
const counts = ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] as const;

export function readinessProbeOf(field: string, probe: ReadinessProbe): ReadinessProbe {
    const present = handlers.filter((handler) => probe[handler] !== undefined);
    if (present.length !== 1) fail(`${field} handlers`, present, `exactly one of ${handlers.join(", ")}`);
    for (const count of counts) {
        const value = probe[count];
        if (value !== undefined && (!Number.isInteger(value) || value < 0)) fail(`${field}.${count}`, value, "a whole number of seconds or times, 0 or more");
    }
    const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
    if (port !== undefined) portOf(`${field}.${present[0]}.port`, port);
    if (probe.exec !== undefined && (probe.exec.command.length === 0 || probe.exec.command.some((arg) => typeof arg !== "string"))) {
        fail(`${field}.exec.command`, probe.exec.command, "a non-empty list of strings");
    }
    return probe;
}
