// The stream transport between parent and enclave, addressed like AF_VSOCK: (CID, port).
// Two implementations: real AF_VSOCK (vsock-transport.ts) and a loopback emulator over Unix
// sockets (loopback-transport.ts) so both sides can run as ordinary processes on any machine.
import type { Duplex } from 'node:stream';
import { CosignerError } from '../errors.js';

/** The parent instance's CID as seen from inside a Nitro enclave. */
export const PARENT_CID = 3;
/** VMADDR_CID_ANY: listen on every CID of this host. */
export const ANY_CID = 0xffff_ffff;

export interface VsockListener {
  /**
   * Stop accepting: connections that arrive afterwards are refused (loopback) or closed on
   * arrival (AF_VSOCK, see vsock-transport.ts). Connections already handed out are left open;
   * they belong to whoever received them.
   */
  close(): Promise<void>;
}

export interface VsockTransport {
  /** Open a stream to (cid, port). Rejects with TRANSPORT_ERROR when the peer is not reachable. */
  connect(cid: number, port: number): Promise<Duplex>;
  /** Accept streams on (cid, port); cid may be ANY_CID. Rejects with TRANSPORT_ERROR if the address is taken. */
  listen(cid: number, port: number, onConnection: (stream: Duplex) => void): Promise<VsockListener>;
}

/** CIDs and ports are u32 in struct sockaddr_vm. */
export function checkVsockAddress(cid: number, port: number): void {
  for (const [name, v] of [['cid', cid], ['port', port]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new CosignerError('CONFIG_INVALID', `vsock ${name} must be an integer in 0..4294967295`, { [name]: String(v).slice(0, 32) });
    }
  }
}
