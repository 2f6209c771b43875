// The real Nitro Secure Module: /dev/nsm, one ioctl per request (Linux drivers/misc/nsm.c):
//   NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw) = 0xC0200A00
//   struct nsm_raw { struct { u64 addr; u64 len; } request; struct { u64 addr; u64 len; } response; }
// The driver copies `request.len` bytes in, runs the request, writes the response to
// `response.addr` and overwrites `response.len` with the bytes written. Requests are at most
// 0x1000 bytes, responses at most 0x3000. Opening the device needs root inside the enclave.
import koffi from 'koffi';
import { CosignerError } from '../../shared/errors.js';
import { nsmError, NSM_REQUEST_MAX_BYTES, NSM_RESPONSE_MAX_BYTES } from '../../shared/nsm/codec.js';
import type { NsmDevice } from './nsm.js';

export const NSM_DEVICE_PATH = '/dev/nsm';
export const NSM_IOCTL_RAW = 0xc0200a00;
const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;
const ENOENT = 2;

/** `struct nsm_raw` as koffi lays it out: two {u64 addr, u64 len} pairs, 32 bytes. */
export const NsmIovec = koffi.struct({ addr: 'uint64_t', len: 'uint64_t' });
export const NsmRaw = koffi.struct({ request: NsmIovec, response: NsmIovec });

interface Libc {
  open: (path: string, flags: number) => number;
  close: (fd: number) => number;
  ioctl: (fd: number, request: number, ...typedArgs: unknown[]) => number;
  strerror: (errnum: number) => string;
}

let libc: Libc | null = null;
function loadLibc(): Libc {
  if (libc) return libc;
  // glibc names its C library libc.so.6; on musl (Alpine images) the symbols come from the
  // process itself, which koffi opens with a null path.
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libc.so.6');
  } catch {
    lib = koffi.load(null);
  }
  libc = {
    open: lib.func('int open(const char *path, int flags)'),
    close: lib.func('int close(int fd)'),
    // ioctl is variadic in C; koffi passes variadic arguments as (type, value) pairs.
    ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  };
  return libc;
}

export class DevNsmDevice implements NsmDevice {
  private fd: number;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** Open the device; a missing device or a failed open is NSM_ERROR with errno and path. */
  static open(path: string = NSM_DEVICE_PATH): DevNsmDevice {
    let c: Libc;
    try {
      c = loadLibc();
    } catch (e) {
      throw new CosignerError('NSM_ERROR', `cannot load libc to open ${path}: ${(e as Error).message}`, { path });
    }
    const fd = c.open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      const errno = koffi.errno();
      const reason = errno === ENOENT ? `${path} does not exist: not running inside a Nitro Enclave (use the NSM emulator)` : `cannot open ${path}: ${c.strerror(errno)}`;
      throw new CosignerError('NSM_ERROR', reason, { path, errno });
    }
    return new DevNsmDevice(fd);
  }

  async request(raw: Uint8Array): Promise<Uint8Array> {
    if (this.fd < 0) throw new CosignerError('NSM_ERROR', 'the NSM device is closed');
    if (raw.length > NSM_REQUEST_MAX_BYTES) throw nsmError('InputTooLarge', { bytes: raw.length });
    const c = loadLibc();
    // Native buffers: their addresses go into nsm_raw for the driver to copy from and into.
    const reqBuf = koffi.alloc('uint8_t', Math.max(raw.length, 1));
    const respBuf = koffi.alloc('uint8_t', NSM_RESPONSE_MAX_BYTES);
    const rawBuf = koffi.alloc(NsmRaw, 1);
    try {
      new Uint8Array(koffi.view(reqBuf, raw.length)).set(raw);
      koffi.encode(rawBuf, NsmRaw, {
        request: { addr: koffi.address(reqBuf), len: BigInt(raw.length) },
        response: { addr: koffi.address(respBuf), len: BigInt(NSM_RESPONSE_MAX_BYTES) },
      });
      const rc = c.ioctl(this.fd, NSM_IOCTL_RAW, 'void *', rawBuf);
      if (rc < 0) {
        const errno = koffi.errno();
        throw new CosignerError('NSM_ERROR', `ioctl NSM_IOCTL_RAW failed: ${c.strerror(errno)}`, { errno });
      }
      const out = koffi.decode(rawBuf, NsmRaw) as { response: { len: bigint | number } };
      const len = Number(out.response.len);
      if (!Number.isInteger(len) || len <= 0 || len > NSM_RESPONSE_MAX_BYTES) throw nsmError('InvalidResponse', { bytes: len });
      return new Uint8Array(koffi.view(respBuf, len).slice(0));
    } finally {
      koffi.free(rawBuf);
      koffi.free(respBuf);
      koffi.free(reqBuf);
    }
  }

  async close(): Promise<void> {
    if (this.fd >= 0) {
      loadLibc().close(this.fd);
      this.fd = -1;
    }
  }
}
