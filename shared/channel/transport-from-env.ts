// Which transport a process uses: the loopback emulator when $VSOCK_LOOPBACK_DIR names a socket
// folder (local stack, tests), real AF_VSOCK otherwise (on Nitro). Both parent and enclave call
// this, so they always agree as long as they share the environment variable.
import { LOOPBACK_DIR_ENV, LoopbackTransport } from './loopback-transport.js';
import type { VsockTransport } from './transport.js';
import { NativeVsockTransport } from './vsock-transport.js';

export function transportFromEnv(env: NodeJS.ProcessEnv = process.env): VsockTransport {
  const dir = env[LOOPBACK_DIR_ENV];
  return dir ? new LoopbackTransport({ dir }) : new NativeVsockTransport();
}
