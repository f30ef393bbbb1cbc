#!/usr/bin/env bash
# meshscope VM status report: collects what the seed's troubleshooting steps ask on a VM (does istiod's
# name reach the east-west gateway, does cluster DNS resolve through the sidecar, has Envoy the upstream
# clusters, are the units running, is the ALS stream up) and PUTs it as one JSON document to this
# instance's guest attributes (meshscope/status), where `npm run doctor` reads it without logging in.
# The document's schema is doctor/vm-status.ts; it carries states, names, addresses and times, never a
# token: the istio-token is only stat'ed, and error text is scrubbed of anything shaped like a credential.
#
# Usage (as root; the agent runs it after each bootstrap run and at every wake-up, at least every 5 minutes):
#   status-report.sh --workload SVC --istiod-host HOST --east-west-ip IP --als-address IP:PORT \
#       --phase PHASE --exit-code N [--last-error TEXT] [--callee HOST:PORT]... [--unit UNIT]... \
#       [--istiod-port 15012]
# Exit: 0 written, 1 the metadata server refused or was unreachable, 2 bad arguments.
#
# Test hooks (defaults are the real thing): MESHSCOPE_ROOT prefixes file paths, MESHSCOPE_METADATA_URL
# replaces the GCE metadata server, MESHSCOPE_ENVOY_ADMIN replaces Envoy's admin address,
# MESHSCOPE_PROBE_USER replaces istio-proxy as the user of the istiod connection probe.
set -Eeuo pipefail

readonly TAG="meshscope-status"
readonly ROOT="${MESHSCOPE_ROOT:-}"
readonly METADATA_URL="${MESHSCOPE_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
readonly ENVOY_ADMIN="${MESHSCOPE_ENVOY_ADMIN:-http://127.0.0.1:15000}"
# The user the sidecar's traffic capture leaves alone (Istio's proxy user, as istio-sidecar.deb creates it).
readonly PROBE_USER="${MESHSCOPE_PROBE_USER-istio-proxy}"
# The workload's user: the sidecar captures its DNS (and not root's, control-paths.ts), so cluster names are
# resolved as it, the way the workload itself resolves them.
readonly APP_USER="${MESHSCOPE_APP_USER-meshscope-app}"
readonly TOKEN_FILE="/var/run/secrets/tokens/istio-token"
# Istio's bootstrap names Envoy's ALS cluster so (istio/istio, EnvoyAccessLogCluster).
readonly ALS_CLUSTER="envoy_accesslog_service"
readonly GUEST_ATTRIBUTE="meshscope/status"
readonly SCHEMA="meshscope.vm-status/v1"

log() {
    printf "%s: %s\n" "$TAG" "$*" >&2
    logger -t "$TAG" -- "$*" 2>/dev/null || true
}

usage_error() {
    log "ERROR: $*"
    exit 2
}

WORK="$(mktemp -d)"
readonly WORK
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------------
# Arguments

WORKLOAD=""
ISTIOD_HOST=""
EAST_WEST_IP=""
ISTIOD_PORT="15012"
ALS_ADDRESS=""
PHASE=""
EXIT_CODE=""
LAST_ERROR=""
CALLEES=()
UNITS=()
while (($# > 0)); do
    [[ $# -ge 2 ]] || usage_error "$1 needs a value"
    case "$1" in
        --workload) WORKLOAD="$2" ;;
        --istiod-host) ISTIOD_HOST="$2" ;;
        --east-west-ip) EAST_WEST_IP="$2" ;;
        --istiod-port) ISTIOD_PORT="$2" ;;
        --als-address) ALS_ADDRESS="$2" ;;
        --phase) PHASE="$2" ;;
        --exit-code) EXIT_CODE="$2" ;;
        --last-error) LAST_ERROR="$2" ;;
        --callee) CALLEES+=("$2") ;;
        --unit) UNITS+=("$2") ;;
        *) usage_error "unknown argument '$1'; allowed: --workload --istiod-host --east-west-ip --istiod-port --als-address --phase --exit-code --last-error --callee --unit" ;;
    esac
    shift 2
done

is_dns_label() { [[ $1 =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; }
is_dns_name() { [[ ${#1} -le 253 && $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ ]]; }
is_ipv4() { [[ $1 =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]]; }
is_port() { [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
is_host_port() { [[ $1 == *:* ]] && is_port "${1##*:}"; }
is_name_port() { is_host_port "$1" && is_dns_name "${1%:*}"; }
is_exit_code() { [[ $1 =~ ^[0-9]{1,3}$ ]] && ((10#$1 <= 255)); }

is_dns_label "$WORKLOAD" || usage_error "--workload '$WORKLOAD' is not a service name (a DNS label)"
is_dns_name "$ISTIOD_HOST" || usage_error "--istiod-host '$ISTIOD_HOST' is not a DNS name like istiod.istio-system.svc"
is_ipv4 "$EAST_WEST_IP" || usage_error "--east-west-ip '$EAST_WEST_IP' is not an IPv4 address"
is_port "$ISTIOD_PORT" || usage_error "--istiod-port '$ISTIOD_PORT' is not a port 1-65535"
is_host_port "$ALS_ADDRESS" || usage_error "--als-address '$ALS_ADDRESS' is not HOST:PORT"
[[ -n $PHASE && ${#PHASE} -le 253 ]] || usage_error "--phase is required: where the bootstrap run ended, e.g. done"
is_exit_code "$EXIT_CODE" || usage_error "--exit-code '$EXIT_CODE' is not the bootstrap run's exit status 0-255"
for callee in "${CALLEES[@]}"; do
    is_name_port "$callee" || usage_error "--callee '$callee' is not HOST:PORT"
done
if ((${#UNITS[@]} == 0)); then
    UNITS=(istio.service "meshscope-$WORKLOAD.service")
fi

# ---------------------------------------------------------------------------------------------------
# Probes: each answers a fact and never fails the script.

iso_time() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# resolve NAME: the first IPv4 address the VM's resolver gives (hosts file, then DNS), or nothing.
resolve() { getent ahostsv4 "$1" 2>/dev/null | awk "NR == 1 { print \$1 }" || true; }

# resolve_as_workload NAME: resolve NAME as the workload's user when it exists (else as this script's user).
resolve_as_workload() {
    if [[ -n $APP_USER ]] && getent passwd "$APP_USER" >/dev/null 2>&1; then
        runuser -u "$APP_USER" -- getent ahostsv4 "$1" 2>/dev/null | awk "NR == 1 { print \$1 }" || true
    else
        resolve "$1"
    fi
}

# tcp_open HOST PORT: a TCP connection opens within 3 s. As istio-proxy when it exists: the sidecar's
# iptables capture every other user's outbound traffic, and Envoy would accept the connection itself.
tcp_open() {
    local as=()
    if [[ -n $PROBE_USER ]] && getent passwd "$PROBE_USER" >/dev/null 2>&1; then
        as=(runuser -u "$PROBE_USER" --)
    fi
    "${as[@]}" timeout 3 bash -c "exec 3<>\"/dev/tcp/\$1/\$2\"" _ "$1" "$2" 2>/dev/null
}

# Removes what could be a credential from free text (a JWT, a Google access token) and bounds its length.
scrub() { sed -E "s/eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)*/[redacted]/g; s/ya29\.[A-Za-z0-9_.-]*/[redacted]/g" | head -c 1024; }

# When the token was written and when it expires: its JWT exp claim (a time, not a secret), so a token that
# ran out shows as such, not as "minted".
minted_at=""
expires_at=""
if [[ -f $ROOT$TOKEN_FILE ]]; then
    minted_at="$(iso_time "$(stat -c %Y "$ROOT$TOKEN_FILE")")"
    exp="$(jq -Rr 'split(".")[1] | gsub("-"; "+") | gsub("_"; "/") | @base64d | fromjson | .exp | numbers' "$ROOT$TOKEN_FILE" 2>/dev/null || true)"
    if [[ $exp =~ ^[0-9]+$ ]]; then expires_at="$(iso_time "$exp")"; fi
fi

istiod_ip="$(resolve "$ISTIOD_HOST")"
istiod_reachable=false
if [[ -n $istiod_ip ]] && tcp_open "$istiod_ip" "$ISTIOD_PORT"; then
    istiod_reachable=true
fi

# Envoy's /clusters text: one `cluster::host::stat::value` line per fact (Envoy admin docs, GET /clusters).
admin_reachable=false
if curl -sS --connect-timeout 2 --max-time 5 -o "$WORK/clusters" "$ENVOY_ADMIN/clusters" 2>/dev/null; then
    admin_reachable=true
else
    : >"$WORK/clusters"
fi

: >"$WORK/dns.jsonl"
: >"$WORK/clusters.jsonl"
for callee in "${CALLEES[@]}"; do
    host="${callee%:*}"
    port="${callee##*:}"
    jq -cn --arg host "$host" --arg ip "$(resolve_as_workload "$host")" '{host: $host, resolvedIp: (if $ip == "" then null else $ip end)}' >>"$WORK/dns.jsonl"
    cluster="outbound|$port||$host"
    read -r present endpoints healthy < <(awk -F "::" -v c="$cluster" '
        $1 == c { present = 1 }
        $1 == c && $3 == "health_flags" { n++; if ($4 == "healthy") h++ }
        END { print (present ? "true" : "false"), n + 0, h + 0 }' "$WORK/clusters")
    jq -cn --arg name "$cluster" --argjson present "$present" --argjson endpoints "$endpoints" --argjson healthy "$healthy" \
        '{name: $name, present: $present, endpoints: $endpoints, healthy: $healthy}' >>"$WORK/clusters.jsonl"
done

als_connections="$(awk -F "::" -v c="$ALS_CLUSTER" '$1 == c && $3 == "cx_active" { n += $4 } END { print n + 0 }' "$WORK/clusters")"

: >"$WORK/units.jsonl"
for unit in "${UNITS[@]}"; do
    # is-active prints the state and exits non-zero unless it is "active".
    state="$(systemctl is-active "$unit" 2>/dev/null || true)"
    jq -cn --arg name "$unit" --arg state "${state:-unknown}" '{name: $name, activeState: $state}' >>"$WORK/units.jsonl"
done

# ---------------------------------------------------------------------------------------------------
# The document, then one PUT.

jq -n \
    --arg schema "$SCHEMA" --arg workload "$WORKLOAD" --arg reportedAt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg phase "$PHASE" --argjson exitCode "$((10#$EXIT_CODE))" --arg lastError "$(printf "%s" "$LAST_ERROR" | scrub)" \
    --arg mintedAt "$minted_at" --arg expiresAt "$expires_at" \
    --arg istiodHost "$ISTIOD_HOST" --arg expectedIp "$EAST_WEST_IP" --arg istiodIp "$istiod_ip" \
    --argjson istiodPort "$((10#$ISTIOD_PORT))" --argjson reachable "$istiod_reachable" \
    --argjson adminReachable "$admin_reachable" --arg alsAddress "$ALS_ADDRESS" --argjson alsConnections "$als_connections" \
    --slurpfile dns "$WORK/dns.jsonl" --slurpfile clusters "$WORK/clusters.jsonl" --slurpfile units "$WORK/units.jsonl" \
    'def orNull: if . == "" then null else . end;
    {
        schema: $schema, workload: $workload, reportedAt: $reportedAt,
        bootstrap: {phase: $phase, exitCode: $exitCode, lastError: ($lastError | orNull)},
        token: {mintedAt: ($mintedAt | orNull), expiresAt: ($expiresAt | orNull)},
        istiod: {host: $istiodHost, expectedIp: $expectedIp, resolvedIp: ($istiodIp | orNull), port: $istiodPort, reachable: $reachable},
        dns: $dns,
        sidecar: {adminReachable: $adminReachable, clusters: $clusters},
        units: $units,
        als: {address: $alsAddress, activeConnections: $alsConnections}
    }' >"$WORK/status.json"

url="$METADATA_URL/instance/guest-attributes/$GUEST_ATTRIBUTE"
if ! status="$(curl -sS --connect-timeout 5 --max-time 15 --retry 3 --retry-connrefused -o "$WORK/answer" -w "%{http_code}" \
    -X PUT -H "Metadata-Flavor: Google" --data-binary "@$WORK/status.json" "$url")"; then
    log "ERROR: cannot reach the metadata server at $METADATA_URL to write guest attribute $GUEST_ATTRIBUTE"
    exit 1
fi
if [[ $status != 2?? ]]; then
    log "ERROR: metadata server answered HTTP $status for guest attribute $GUEST_ATTRIBUTE (is enable-guest-attributes TRUE on the instance?): $(head -c 200 "$WORK/answer")"
    exit 1
fi
cat "$WORK/status.json"
log "wrote guest attribute $GUEST_ATTRIBUTE for $WORKLOAD (bootstrap $PHASE, exit $EXIT_CODE)"
