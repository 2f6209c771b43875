// Loopback vsock emulator: (cid, port) maps to the Unix socket `${dir}/vsock-${cid}-${port}.sock`,
// so the parent and the enclave run as separate processes on one machine with the same code
// paths as on Nitro. The bytes on the stream are whatever the caller writes (our CBOR frames),
// exactly as over AF_VSOCK.
//
// Addressing mirrors Linux af_vsock (__vsock_find_bound_socket, used by both bind and connect):
// an address (cid, port) matches a socket bound to exactly (cid, port) or, when either side is
// VMADDR_CID_ANY, any socket bound to that port. So a connect to (cid, port) reaches a listener
// on (cid, port) or on (ANY, port), and listening on (ANY, port) while something listens on
// (cid', port) — or the reverse — is EADDRINUSE. Unlike real vsock, every CID exists here: the
// emulator cannot tell that no enclave owns CID 17, so such a connect may reach an ANY listener.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { CosignerError } from '../errors.js';
import { ANY_CID, checkVsockAddress, type VsockListener, type VsockTransport } from './transport.js';

export const LOOPBACK_DIR_ENV = 'VSOCK_LOOPBACK_DIR';
/** sun_path is 108 bytes including the terminating NUL; Node truncates longer paths silently. */
const MAX_SOCKET_PATH_BYTES = 107;

export interface LoopbackTransportOptions {
  /** Folder holding the socket files; defaults to $VSOCK_LOOPBACK_DIR. Created (mode 0700) if missing. */
  dir?: string;
}

export class LoopbackTransport implements VsockTransport {
  readonly dir: string;

  constructor(opts: LoopbackTransportOptions = {}) {
    const dir = opts.dir ?? process.env[LOOPBACK_DIR_ENV];
    if (!dir) throw new CosignerError('CONFIG_INVALID', `loopback vsock needs a socket folder (option dir or $${LOOPBACK_DIR_ENV})`);
    this.dir = path.resolve(dir);
  }

  socketPath(cid: number, port: number): string {
    checkVsockAddress(cid, port);
    const p = path.join(this.dir, `vsock-${cid}-${port}.sock`);
    if (Buffer.byteLength(p) > MAX_SOCKET_PATH_BYTES) {
      throw new CosignerError('CONFIG_INVALID', `loopback socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter folder`);
    }
    return p;
  }

  async connect(cid: number, port: number): Promise<Duplex> {
    const exact = this.socketPath(cid, port);
    let exactError: unknown;
    try {
      return await connectUnix(exact);
    } catch (e) {
      if (cid === ANY_CID || !isNotListening(e)) throw toTransportError(e, cid, port);
      exactError = e;
    }
    try {
      return await connectUnix(this.socketPath(ANY_CID, port));
    } catch (e) {
      // No ANY_CID socket at all: the exact address's error says more (e.g. a stale file).
      throw toTransportError(errnoCode(e) === 'ENOENT' ? exactError : e, cid, port);
    }
  }

  /**
   * mkdir's mode applies only when it creates the folder: a folder that already exists must be ours
   * and closed to others, or another local user could bind our (cid, port) first.
   */
  private checkFolderIsOurs(): void {
    const st = fs.lstatSync(this.dir);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
      throw new CosignerError('CONFIG_INVALID', `loopback socket folder ${this.dir} must be a directory owned by this user with mode 0700`);
    }
  }

  async listen(cid: number, port: number, onConnection: (stream: Duplex) => void): Promise<VsockListener> {
    const file = this.socketPath(cid, port);
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw toTransportError(e, cid, port);
    }
    this.checkFolderIsOurs();
    await removeStaleSocket(file, cid, port);
    await this.refuseOverlappingListener(cid, port);
    const server = net.createServer((s) => onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(toTransportError(e, cid, port)));
      server.listen(file, () => resolve());
    });
    // A later accept error (e.g. EMFILE) must not crash the process; the server keeps listening.
    server.on('error', () => undefined);
    const ino = fs.lstatSync(file).ino;
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        server.close();
        // libuv unlinks the path when the handle closes; do it now so a connect right after
        // close() fails, but only if the file is still ours (someone may have re-bound it).
        try {
          if (fs.lstatSync(file).ino === ino) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      },
    };
  }

  /** (ANY, port) overlaps every (cid, port) and the reverse, as in af_vsock's bind. */
  private async refuseOverlappingListener(cid: number, port: number): Promise<void> {
    let others: string[];
    if (cid === ANY_CID) {
      others = fs.readdirSync(this.dir).filter((n) => {
        const m = /^vsock-(\d+)-(\d+)\.sock$/.exec(n);
        return m !== null && Number(m[2]) === port && Number(m[1]) !== ANY_CID;
      });
    } else {
      others = [path.basename(this.socketPath(ANY_CID, port))];
    }
    for (const name of others) {
      if (await isLiveSocket(path.join(this.dir, name))) {
        throw new CosignerError('TRANSPORT_ERROR', `loopback vsock ${cid}:${port}: address already in use by ${name} (EADDRINUSE)`, { cid, port, errno: 'EADDRINUSE' });
      }
    }
  }
}

async function isLiveSocket(file: string): Promise<boolean> {
  try {
    if (!fs.lstatSync(file).isSocket()) return false;
    (await connectUnix(file)).destroy();
    return true;
  } catch {
    return false;
  }
}

function connectUnix(file: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(file);
    const onError = (e: Error) => {
      s.destroy();
      reject(e);
    };
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** ENOENT: no socket file; ECONNREFUSED: a stale file nobody listens on. Both mean "peer not up". */
function isNotListening(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

function toTransportError(e: unknown, cid: number, port: number): CosignerError {
  if (e instanceof CosignerError) return e;
  const code = errnoCode(e) ?? 'UNKNOWN';
  const why = isNotListening(e) ? 'nobody is listening' : code === 'EADDRINUSE' ? 'address already in use' : 'socket error';
  return new CosignerError('TRANSPORT_ERROR', `loopback vsock ${cid}:${port}: ${why} (${code})`, { cid, port, errno: code }, { cause: e });
}

/**
 * A socket file left by a process that died (SIGKILL leaves it behind) would make listen fail
 * with EADDRINUSE. Remove it only when it is a socket and nobody answers on it; never touch a
 * regular file, a symlink or a live listener.
 */
async function removeStaleSocket(file: string, cid: number, port: number): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw toTransportError(e, cid, port);
  }
  if (!st.isSocket()) {
    throw new CosignerError('TRANSPORT_ERROR', `loopback vsock ${cid}:${port}: ${path.basename(file)} exists and is not a socket; not removing it`, { cid, port });
  }
  try {
    const probe = await connectUnix(file);
    probe.destroy();
    throw new CosignerError('TRANSPORT_ERROR', `loopback vsock ${cid}:${port}: address already in use (EADDRINUSE)`, { cid, port, errno: 'EADDRINUSE' });
  } catch (e) {
    if (e instanceof CosignerError) throw e;
    if (errnoCode(e) !== 'ECONNREFUSED') throw toTransportError(e, cid, port);
  }
  try {
    // Re-check right before unlinking: only remove the same stale inode we probed.
    if (fs.lstatSync(file).ino === st.ino) fs.unlinkSync(file);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw toTransportError(e, cid, port);
  }
}
