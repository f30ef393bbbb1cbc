#!/usr/bin/env bash
# meshscope VM bootstrap: joins this GCE VM to the Istio mesh and runs its workload under systemd.
#
# The script is generic: every per-VM value is a GCE instance metadata attribute named meshscope-*,
# rendered by vm-bootstrap/render.ts; the script itself arrives as the attribute meshscope-bootstrap.
# agent.sh (meshscope-agent.service) runs it until it succeeds, and again whenever the attributes change.
# It converges: a rerun rewrites a file only when its content differs and restarts a unit only when its
# inputs changed; a fresh istio-token alone restarts nothing.
# The istio-token is minted here with the VM's own Google identity (Kubernetes TokenRequest), so nothing
# secret is stored in metadata or anywhere else.
#
# Test hooks (defaults are the real thing): MESHSCOPE_ROOT prefixes every file path, MESHSCOPE_METADATA_URL
# replaces the GCE metadata server, MESHSCOPE_KUBE_ATTEMPTS / MESHSCOPE_KUBE_RETRY_DELAY bound the
# Kubernetes API retries. The Kubernetes API address itself comes from meshscope-cluster-endpoint.
set -Eeuo pipefail

readonly TAG=meshscope-bootstrap
readonly ROOT="${MESHSCOPE_ROOT:-}"
readonly METADATA_URL="${MESHSCOPE_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
# A short wait for a blip; longer outages (RBAC not bound yet, cluster down) are the agent's backoff.
readonly KUBE_ATTEMPTS="${MESHSCOPE_KUBE_ATTEMPTS:-3}"
readonly KUBE_RETRY_DELAY="${MESHSCOPE_KUBE_RETRY_DELAY:-5}"
readonly ISTIO_RELEASE_URL="https://storage.googleapis.com/istio-release/releases"
# The .deb download is bounded: a connection that does not open in 10 s, a transfer slower than 10 kB/s for
# 60 s, or one attempt over 10 min fails (and is retried twice), and all attempts together stop after 20 min,
# so a stalled mirror fails the run (the agent retries with backoff and keeps reporting) instead of hanging it.
readonly DOWNLOAD_LIMITS=(--connect-timeout 10 --speed-limit 10240 --speed-time 60 --max-time 600
  --retry 2 --retry-connrefused --retry-max-time 1200)
readonly TOKEN_AUDIENCE=istio-ca
readonly TOKEN_SECONDS=3600
readonly ROOT_CERT_CONFIGMAP=istio-ca-root-cert
readonly TOKEN_PATH=/var/run/secrets/tokens/istio-token
# A token on disk with less left than this is replaced, so a sidecar (re)start always finds a valid one.
readonly TOKEN_MIN_SECONDS_LEFT=1200
# The workload's own host user: its uid is what keeps it off the metadata server.
readonly APP_USER=meshscope-app
readonly METADATA_IP=169.254.169.254
readonly GUARD_CHAIN=MESHSCOPE-NO-METADATA

log() {
  printf '%s: %s\n' "$TAG" "$*" >&2
  logger -t "$TAG" -- "$*" 2>/dev/null || true
}

die() {
  log "ERROR: $*"
  exit 1
}

trap 'die "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

WORK="$(mktemp -d)"
readonly WORK
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------------
# HTTP

# fetch URL OUT [curl args...]: writes the body to OUT and the status to HTTP_STATUS; fails only when
# no HTTP answer came at all.
HTTP_STATUS=000
fetch() {
  local url=$1 out=$2
  shift 2
  HTTP_STATUS="$(curl -sS --connect-timeout 5 --max-time 30 -o "$out" -w '%{http_code}' "$@" "$url")"
}

# metadata PATH OUT: GET from the GCE metadata server; the header proves we are not an SSRF victim.
metadata() {
  fetch "$METADATA_URL/$1" "$2" --retry 5 --retry-connrefused --retry-delay 1 -H 'Metadata-Flavor: Google'
}

# ---------------------------------------------------------------------------------------------------
# Inputs: every attribute is fetched and checked before anything on the machine changes.

readonly ATTRS="$WORK/attrs"
mkdir -p "$ATTRS"

# require_attr NAME: fetches meshscope-NAME into $ATTRS/NAME; absence or emptiness is fatal.
require_attr() {
  local key="meshscope-$1" out="$ATTRS/$1"
  metadata "instance/attributes/$key" "$out" || die "cannot reach the metadata server at $METADATA_URL to read $key"
  case "$HTTP_STATUS" in
    200) ;;
    404) die "instance metadata attribute $key is missing" ;;
    *) die "metadata server answered HTTP $HTTP_STATUS for attribute $key" ;;
  esac
  [[ -s $out ]] || die "instance metadata attribute $key is empty"
}

is_dns_label() { [[ $1 =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; }
is_dns_name() { [[ ${#1} -le 253 && $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ ]]; }

is_ipv4() {
  local octet
  [[ $1 =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || return 1
  for octet in ${1//./ }; do
    ((10#$octet <= 255)) || return 1
  done
}

# host or host:port, host an IPv4 address or a DNS name (GKE gives an IP).
is_endpoint() {
  local host=${1%:*} port=${1##*:}
  [[ $1 == *:* ]] || port=443
  [[ $port =~ ^[0-9]{1,5}$ ]] && ((10#$port >= 1 && 10#$port <= 65535)) || return 1
  is_ipv4 "$host" || is_dns_name "$host"
}

is_version() { [[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; }
is_sha256() { [[ $1 =~ ^[0-9a-f]{64}$ ]]; }
is_sha256_pin() { [[ $1 == published ]] || is_sha256 "$1"; }
# No whitespace or '%': the image lands in a systemd ExecStart line.
is_image() { [[ $1 =~ ^[a-z0-9][A-Za-z0-9._/:@-]*$ ]]; }
is_pem_cert() { grep -q -- '-----BEGIN CERTIFICATE-----' "$1"; }
is_env_file() { ! grep -qvE '^[A-Za-z_][A-Za-z0-9_]*=' "$1"; }

# scalar_attr VAR NAME CHECK WHAT: sets VAR to the attribute's value once CHECK accepted it.
scalar_attr() {
  local var=$1 name=$2 check=$3 what=$4 value
  value="$(<"$ATTRS/$name")"
  "$check" "$value" || die "instance metadata attribute meshscope-$name='$value' is not $what"
  printf -v "$var" '%s' "$value"
}

# file_attr NAME CHECK WHAT: checks a multi-line attribute in place.
file_attr() {
  local name=$1 check=$2 what=$3
  "$check" "$ATTRS/$name" || die "instance metadata attribute meshscope-$name is not $what"
}

readonly REQUIRED_ATTRS=(
  workload namespace service-account workload-image istio-version istio-sidecar-sha256 cluster-endpoint cluster-ca-cert
  east-west-gateway-ip istiod-host cluster-env mesh-config workload-env
)
for attr in "${REQUIRED_ATTRS[@]}"; do
  require_attr "$attr"
done

scalar_attr WORKLOAD workload is_dns_label 'a DNS label (lowercase letters, digits and -)'
scalar_attr NAMESPACE namespace is_dns_label 'a DNS label (lowercase letters, digits and -)'
scalar_attr SERVICE_ACCOUNT service-account is_dns_name 'a Kubernetes service account name'
scalar_attr IMAGE workload-image is_image 'a container image reference without spaces'
scalar_attr ISTIO_VERSION istio-version is_version 'an Istio release version like 1.31.0'
scalar_attr SIDECAR_SHA256 istio-sidecar-sha256 is_sha256_pin "a SHA-256 (64 lowercase hex digits) or 'published'"
scalar_attr CLUSTER_ENDPOINT cluster-endpoint is_endpoint 'an IPv4 address or DNS name with optional :port'
scalar_attr EAST_WEST_IP east-west-gateway-ip is_ipv4 'an IPv4 address'
scalar_attr ISTIOD_HOST istiod-host is_dns_name 'a DNS name like istiod.istio-system.svc'
file_attr cluster-ca-cert is_pem_cert 'a PEM certificate'
file_attr workload-env is_env_file 'an env file of NAME=value lines'
readonly WORKLOAD NAMESPACE SERVICE_ACCOUNT IMAGE ISTIO_VERSION SIDECAR_SHA256 CLUSTER_ENDPOINT EAST_WEST_IP ISTIOD_HOST
log "bootstrapping $WORKLOAD (namespace $NAMESPACE, service account $SERVICE_ACCOUNT, Istio $ISTIO_VERSION)"

# ---------------------------------------------------------------------------------------------------
# Files

# put_file SRC DEST MODE: installs SRC at $ROOT$DEST when its content or mode differs. Sets WROTE=1
# when it wrote. The rename keeps readers from ever seeing half a file.
WROTE=0
put_file() {
  local src=$1 dest=$ROOT$2 mode=$3
  WROTE=0
  if [[ -f $dest ]] && cmp -s "$src" "$dest" && [[ "$(stat -c %a "$dest")" == "$mode" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$dest")"
  install -m "$mode" "$src" "$dest.meshscope-new"
  mv -f "$dest.meshscope-new" "$dest"
  WROTE=1
  log "wrote $2"
}

# ---------------------------------------------------------------------------------------------------
# Packages

is_installed() {
  [[ "$(dpkg-query -W -f="\${db:Status-Status}" "$1" 2>/dev/null || true)" == installed ]]
}

# First boot races the image's own unattended-upgrades for the dpkg lock: wait for it, bounded.
# APT::Sandbox::User=root: apt's download methods then leave as root, whose connections the sidecar does not
# capture (control-paths.ts), so a package install works while the sidecar has no listeners.
readonly APT_OPTIONS=(-q -o DPkg::Lock::Timeout=300 -o APT::Sandbox::User=root)
APT_UPDATED=0
apt_install() {
  if ((APT_UPDATED == 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTIONS[@]}" update
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTIONS[@]}" install -y --no-install-recommends "$@"
}

# podman runs the workload image; jq reads the Kubernetes API's JSON answers.
missing=()
for pkg in podman jq; do
  is_installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

SIDECAR_CHANGED=0
sidecar_version="$(dpkg-query -W -f="\${db:Status-Status} \${Version}" istio-sidecar 2>/dev/null || true)"
if [[ $sidecar_version != "installed $ISTIO_VERSION" ]]; then
  deb="$ROOT/var/cache/meshscope/istio-sidecar-$ISTIO_VERSION.deb"
  mkdir -p "$(dirname "$deb")"
  log "installing istio-sidecar $ISTIO_VERSION (found: '${sidecar_version:-none}')"
  url="$ISTIO_RELEASE_URL/$ISTIO_VERSION/deb/istio-sidecar.deb"
  curl -fsSL "${DOWNLOAD_LIMITS[@]}" -o "$deb.part" "$url" ||
    die "cannot download $url within the download limits (10 s to connect, 10 kB/s, 10 min)"
  # The release publishes "<sha256> istio-sidecar.deb" next to the package (istio/release-builder CreateSha).
  curl -fsSL "${DOWNLOAD_LIMITS[@]}" -o "$WORK/deb.sha256" "$url.sha256" || die "cannot download the checksum $url.sha256"
  published="$(awk 'NR == 1 { print $1 }' "$WORK/deb.sha256")"
  is_sha256 "$published" || die "$url.sha256 holds no SHA-256: '$(head -c 100 "$WORK/deb.sha256")'"
  if [[ $SIDECAR_SHA256 != published && $SIDECAR_SHA256 != "$published" ]]; then
    rm -f "$deb.part"
    die "the release publishes SHA-256 $published for istio-sidecar.deb $ISTIO_VERSION, the stack pins $SIDECAR_SHA256 (meshscope:versions.istioSidecarSha256): not installing it"
  fi
  actual="$(sha256sum "$deb.part" | cut -d ' ' -f 1)"
  if [[ $actual != "$published" ]]; then
    rm -f "$deb.part"
    die "downloaded istio-sidecar.deb $ISTIO_VERSION has SHA-256 $actual, not the $published its checksum file names: not installing it"
  fi
  log "istio-sidecar.deb $ISTIO_VERSION matches SHA-256 $actual"
  mv -f "$deb.part" "$deb"
  # apt-get, not dpkg -i: the package depends on iptables and iproute2. --allow-downgrades: a pinned version
  # can also move back, which apt-get -y otherwise refuses (exit 100) on every run.
  apt_install --allow-downgrades "$deb"
  SIDECAR_CHANGED=1
fi

# istio.service stays enabled, so systemd starts it at boot before this script has minted the token
# (which lives on tmpfs): its iptables capture would then take the VM's traffic, this script's calls
# included, with no configured proxy behind it. Hold it back until the token exists; we start it below.
cat >"$WORK/istio-dropin" <<'EOF'
[Unit]
ConditionPathExists=/var/run/secrets/tokens/istio-token
EOF
put_file "$WORK/istio-dropin" /etc/systemd/system/istio.service.d/10-meshscope.conf 644
if ((SIDECAR_CHANGED || WROTE)); then
  systemctl daemon-reload
  SIDECAR_CHANGED=1
fi

# ---------------------------------------------------------------------------------------------------
# Credentials: the VM's Google identity, authorised by an RBAC Role for exactly this, mints the token.

put_file "$ATTRS/cluster-ca-cert" /etc/meshscope/cluster-ca.pem 644
readonly CLUSTER_CA="$ROOT/etc/meshscope/cluster-ca.pem"

# google_access_token: a fresh one from the metadata server into ACCESS_TOKEN. Asked for at every attempt:
# the server may hand out a token with only minutes left, which a long wait would outlive.
ACCESS_TOKEN=
google_access_token() {
  ACCESS_TOKEN=
  metadata instance/service-accounts/default/token "$WORK/sa-token.json" ||
    die "cannot reach the metadata server at $METADATA_URL for the service account token"
  [[ $HTTP_STATUS == 200 ]] || die "metadata server answered HTTP $HTTP_STATUS for the service account token"
  ACCESS_TOKEN="$(jq -er '.access_token | select(type == "string" and length > 0)' "$WORK/sa-token.json")" ||
    die "metadata server's service account token answer has no access_token"
}

# kube METHOD PATH OUT [curl args...]: calls the cluster's API, verifying it with the cluster CA.
kube() {
  local method=$1 path=$2 out=$3 attempt=1 problem
  shift 3
  while :; do
    google_access_token
    # The bearer goes through a file descriptor so it never shows in the process list.
    if fetch "https://$CLUSTER_ENDPOINT$path" "$out" -X "$method" --cacert "$CLUSTER_CA" \
      -H @<(printf 'Authorization: Bearer %s\n' "$ACCESS_TOKEN") -H 'Accept: application/json' "$@"; then
      [[ $HTTP_STATUS == 2?? ]] && return 0
      problem="HTTP $HTTP_STATUS: $(head -c 300 "$out" | tr -s '\n' ' ')"
    else
      problem="no answer (connection or TLS verification with the cluster CA failed)"
    fi
    ((attempt < KUBE_ATTEMPTS)) ||
      die "Kubernetes API $method https://$CLUSTER_ENDPOINT$path failed after $attempt attempt(s): $problem"
    log "Kubernetes API $method $path: $problem; retrying in ${KUBE_RETRY_DELAY}s"
    sleep "$KUBE_RETRY_DELAY"
    attempt=$((attempt + 1))
  done
}

kube GET "/api/v1/namespaces/$NAMESPACE/configmaps/$ROOT_CERT_CONFIGMAP" "$WORK/root-cert.json"
jq -ej '.data["root-cert.pem"] | select(type == "string" and contains("-----BEGIN CERTIFICATE-----"))' \
  "$WORK/root-cert.json" >"$WORK/root-cert.pem" ||
  die "ConfigMap $NAMESPACE/$ROOT_CERT_CONFIGMAP has no PEM certificate under root-cert.pem"

# ---------------------------------------------------------------------------------------------------
# Sidecar files, as `istioctl x workload entry configure` lays them out.

for spec in \
  "$ATTRS/cluster-env /var/lib/istio/envoy/cluster.env 644" \
  "$ATTRS/mesh-config /etc/istio/config/mesh 644" \
  "$WORK/root-cert.pem /etc/certs/root-cert.pem 644"; do
  read -r src dest mode <<<"$spec"
  put_file "$src" "$dest" "$mode"
  SIDECAR_CHANGED=$((SIDECAR_CHANGED | WROTE))
done

# istiod is reached through the east-west gateway: take its name off any earlier line (keeping that line's
# other names, and dropping it only when no name is left), then add ours.
hosts="$ROOT/etc/hosts"
{
  if [[ -f $hosts ]]; then
    awk -v name="$ISTIOD_HOST" '
      /^[[:space:]]*(#|$)/ { print; next }
      {
        line = $1; kept = 0; found = 0; comment = 0
        for (i = 2; i <= NF; i++) {
          if ($i ~ /^#/) comment = 1
          if (!comment && $i == name) { found = 1; continue }
          line = line " " $i
          if (!comment) kept++
        }
        if (!found) print
        else if (kept > 0) print line
      }' "$hosts"
  fi
  printf '%s %s\n' "$EAST_WEST_IP" "$ISTIOD_HOST"
} >"$WORK/hosts"
put_file "$WORK/hosts" /etc/hosts 644
SIDECAR_CHANGED=$((SIDECAR_CHANGED | WROTE))

# token_seconds_left FILE: seconds until the JWT in FILE expires (its exp claim); fails when unreadable.
token_seconds_left() {
  local exp
  [[ -s $1 ]] || return 1
  exp="$(jq -Rr 'split(".")[1] | gsub("-"; "+") | gsub("_"; "/") | @base64d | fromjson | .exp | numbers' "$1" 2>/dev/null)" ||
    return 1
  [[ $exp =~ ^[0-9]+$ ]] || return 1
  printf '%s' $((exp - $(date +%s)))
}

# A new token restarts nothing: the running agent already holds its certificate. One is minted when none is
# on disk (a reboot emptied /run), when it is about to run out, or when the sidecar restarts anyway.
left="$(token_seconds_left "$ROOT$TOKEN_PATH" || echo 0)"
if ((SIDECAR_CHANGED || left < TOKEN_MIN_SECONDS_LEFT)); then
  jq -n --arg aud "$TOKEN_AUDIENCE" --argjson seconds "$TOKEN_SECONDS" \
    '{apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest",
      spec: {audiences: [$aud], expirationSeconds: $seconds}}' >"$WORK/token-request.json"
  kube POST "/api/v1/namespaces/$NAMESPACE/serviceaccounts/$SERVICE_ACCOUNT/token" "$WORK/token-answer.json" \
    -H 'Content-Type: application/json' --data-binary "@$WORK/token-request.json"
  # -j: no trailing newline, byte-for-byte what istioctl writes.
  jq -ej '.status.token | select(type == "string" and length > 0)' "$WORK/token-answer.json" >"$WORK/istio-token" ||
    die "TokenRequest answer for $NAMESPACE/$SERVICE_ACCOUNT has no status.token"
  put_file "$WORK/istio-token" "$TOKEN_PATH" 600
fi

mkdir -p "$ROOT/etc/istio/proxy"
chown -R istio-proxy:istio-proxy "$ROOT/var/lib/istio" "$ROOT/etc/certs" "$ROOT/etc/istio/proxy" \
  "$ROOT/etc/istio/config" "$ROOT/var/run/secrets"

# ---------------------------------------------------------------------------------------------------
# The workload's identity: its own host user, kept off the metadata server (and so off the VM's Google
# identity). With host networking the sidecar redirects its connections to Envoy before the filter table
# sees them, so the rule matches the connection's original destination (conntrack), not the packet's.

if ! id -u "$APP_USER" >/dev/null 2>&1; then
  log "creating the workload user $APP_USER"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$APP_USER"
fi
APP_UID="$(id -u "$APP_USER")"
APP_GID="$(id -g "$APP_USER")"
readonly APP_UID APP_GID

# Every port but DNS: the sidecar's DNS proxy answers the workload's lookups, forwarding to that address.
readonly GUARD_RULE=(-p tcp -m owner --uid-owner "$APP_UID" -m conntrack --ctorigdst "$METADATA_IP/32"
  ! --ctorigdstport 53 -j REJECT --reject-with tcp-reset)
iptables -w -n -L "$GUARD_CHAIN" >/dev/null 2>&1 || iptables -w -N "$GUARD_CHAIN"
if ! iptables -w -C "$GUARD_CHAIN" "${GUARD_RULE[@]}" 2>/dev/null; then
  log "keeping uid $APP_UID ($APP_USER) off the metadata server $METADATA_IP"
  iptables -w -A "$GUARD_CHAIN" "${GUARD_RULE[@]}"
fi
iptables -w -C OUTPUT -j "$GUARD_CHAIN" 2>/dev/null || iptables -w -I OUTPUT 1 -j "$GUARD_CHAIN"

# ---------------------------------------------------------------------------------------------------
# Units

# converge_unit UNIT CHANGED: enabled and running; restarted only when its inputs changed.
converge_unit() {
  local unit=$1 changed=$2
  if ! systemctl is-enabled --quiet "$unit"; then
    log "enabling and starting $unit"
    systemctl enable --now "$unit"
  elif ((changed)); then
    log "restarting $unit: its configuration changed"
    systemctl restart "$unit"
  elif ! systemctl is-active --quiet "$unit"; then
    log "starting $unit"
    systemctl start "$unit"
  fi
}

converge_unit istio.service "$SIDECAR_CHANGED"

readonly UNIT="meshscope-$WORKLOAD.service"
readonly ENV_FILE="/etc/meshscope/$WORKLOAD.env"
WORKLOAD_CHANGED=0
put_file "$ATTRS/workload-env" "$ENV_FILE" 640
WORKLOAD_CHANGED=$((WORKLOAD_CHANGED | WROTE))

# Host networking: the sidecar's iptables capture sees the workload's traffic like any local process.
# BindsTo + After + the sidecar's own condition: the workload runs only while istio.service does, never
# outside the mesh, and stops (or restarts) with it.
cat >"$WORK/unit" <<EOF
[Unit]
Description=meshscope workload $WORKLOAD ($IMAGE), only behind its Istio sidecar
Wants=network-online.target
After=network-online.target istio.service
BindsTo=istio.service
ConditionPathExists=$TOKEN_PATH

[Service]
Restart=always
RestartSec=5
TimeoutStartSec=600
ExecStart=/usr/bin/podman run --rm --replace --name meshscope-$WORKLOAD --network host --env-file $ENV_FILE --read-only --cap-drop all --security-opt no-new-privileges --user $APP_UID:$APP_GID $IMAGE
ExecStop=/usr/bin/podman stop --ignore --time 10 meshscope-$WORKLOAD

[Install]
WantedBy=multi-user.target
EOF
put_file "$WORK/unit" "/etc/systemd/system/$UNIT" 644
if ((WROTE)); then
  systemctl daemon-reload
  WORKLOAD_CHANGED=1
fi

converge_unit "$UNIT" "$WORKLOAD_CHANGED"
log "done: istio.service and $UNIT are enabled and running"
