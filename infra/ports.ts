// Well-known ports of the mesh, named once.

/** istiod's xDS/CA port, which VMs reach through the east-west gateway. */
export const ISTIOD_XDS_PORT = 15012;
/** istiod's webhook port (also exposed to VMs for auto-registration). */
export const ISTIOD_WEBHOOK_PORT = 15017;
/** The east-west gateway's ports: status, mTLS passthrough, istiod xDS, istiod webhook. */
export const EASTWEST_PORTS = [15021, 15443, ISTIOD_XDS_PORT, ISTIOD_WEBHOOK_PORT];
/** The receiver's ALS gRPC port (receiver --listen default), also SkyWalking OAP's gRPC port. */
export const RECEIVER_ALS_PORT = 11800;
/** The receiver's admin HTTP port (health, metrics, topology). */
export const RECEIVER_ADMIN_PORT = 8080;
