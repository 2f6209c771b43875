// Serving the emulated NSM on a Unix socket: each message is a 4-byte big-endian length and the
// raw NSM CBOR bytes, one response per request, in order. A malformed request gets an Error
// response; a broken frame (oversized length) closes only that connection.
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { encodeNsmResponse } from '../../shared/nsm/codec.js';
import { NsmFrameReader, encodeNsmFrame } from '../../shared/nsm/socket-framing.js';
import type { EmulatedNsm } from './device.js';

export interface NsmServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // nothing there
  }
}

function serveConnection(sock: Socket, nsm: EmulatedNsm): void {
  const reader = new NsmFrameReader();
  let broken = false;
  sock.on('data', (chunk: Buffer) => {
    if (broken) return;
    let frames: Uint8Array[];
    try {
      frames = reader.push(chunk);
    } catch {
      // The stream can no longer be split into frames: answer once, then hang up.
      broken = true;
      sock.end(encodeNsmFrame(encodeNsmResponse({ kind: 'Error', error: 'InputTooLarge' })));
      return;
    }
    try {
      for (const f of frames) sock.write(encodeNsmFrame(nsm.handle(f)));
    } catch {
      broken = true; // never let one connection take the server down
      sock.destroy();
    }
  });
  sock.on('error', () => sock.destroy());
}

export function startNsmServer(opts: { socketPath: string; nsm: EmulatedNsm }): Promise<NsmServer> {
  removeStaleSocket(opts.socketPath);
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    serveConnection(sock, opts.nsm);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => {
      server.off('error', reject);
      chmodSync(opts.socketPath, 0o600); // the NSM belongs to the enclave process alone
      resolve({
        socketPath: opts.socketPath,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => {
              removeStaleSocket(opts.socketPath);
              done();
            });
          }),
      });
    });
  });
}
