// The decoded shapes of Envoy's ALS messages: the subset of fields the receiver reads, as
// @grpc/proto-loader produces them with envoy-protos.ts's LOADER_OPTIONS. Both the proto loading
// (envoy-protos.ts) and the fast decoder (als-decoder.ts) build these, so they live apart from both.
/** A uint64 count: a number, or its decimal digits beyond 2^53. */
export type Int64Field = number | string;

export interface Duration { seconds?: number; nanos?: number }
export interface Timestamp { seconds?: number; nanos?: number }
export interface Any { type_url?: string; value?: Buffer }
export interface Value {
  nullValue?: string; numberValue?: number; stringValue?: string; boolValue?: boolean;
  structValue?: Struct; listValue?: { values?: Value[] }; kind?: string;
}
export interface Struct { fields?: Record<string, Value> }
export interface SocketAddress { address?: string; port_value?: number }
export interface Address { socket_address?: SocketAddress }

export interface Node {
  id?: string;
  cluster?: string;
  metadata?: Struct;
}

export interface TlsProperties {
  tls_version?: string;
  local_certificate_properties?: { subject_alt_name?: { uri?: string; dns?: string }[]; subject?: string };
  peer_certificate_properties?: { subject_alt_name?: { uri?: string; dns?: string }[]; subject?: string };
  tls_sni_hostname?: string;
}

export interface AccessLogCommon {
  downstream_remote_address?: Address;
  downstream_local_address?: Address;
  tls_properties?: TlsProperties;
  start_time?: Timestamp;
  time_to_last_rx_byte?: Duration;
  time_to_first_upstream_tx_byte?: Duration;
  time_to_last_upstream_tx_byte?: Duration;
  time_to_first_upstream_rx_byte?: Duration;
  time_to_last_upstream_rx_byte?: Duration;
  time_to_first_downstream_tx_byte?: Duration;
  time_to_last_downstream_tx_byte?: Duration;
  upstream_remote_address?: Address;
  upstream_local_address?: Address;
  upstream_cluster?: string;
  response_flags?: Record<string, unknown>;
  filter_state_objects?: Record<string, Any>;
  duration?: Duration;
  route_name?: string;
}

export interface HttpAccessLogEntry {
  common_properties?: AccessLogCommon;
  protocol_version?: string;
  request?: {
    request_method?: string; scheme?: string; authority?: string; path?: string; user_agent?: string;
    request_headers?: Record<string, string>; request_headers_bytes?: number; request_body_bytes?: number;
  };
  response?: {
    response_code?: { value?: number }; response_headers_bytes?: number; response_body_bytes?: number;
    response_headers?: Record<string, string>; response_trailers?: Record<string, string>;
    response_code_details?: string;
  };
}

export interface TcpAccessLogEntry {
  common_properties?: AccessLogCommon;
  connection_properties?: { received_bytes?: Int64Field; sent_bytes?: Int64Field };
}

export interface StreamAccessLogsMessage {
  identifier?: { node?: Node; log_name?: string };
  http_logs?: { log_entry?: HttpAccessLogEntry[] };
  tcp_logs?: { log_entry?: TcpAccessLogEntry[] };
  log_entries?: 'http_logs' | 'tcp_logs';
}
