// Choosing the NSM: inside a Nitro Enclave the real /dev/nsm; anywhere else the emulator's socket.
// The choice is explicit (configuration), never a silent fallback: an enclave that cannot open
// /dev/nsm must fail rather than quietly trust an emulator.
import { DevNsmDevice, NSM_DEVICE_PATH } from './dev-nsm-device.js';
import { NsmClient, type Nsm } from './nsm.js';
import { SocketNsmDevice } from './socket-nsm-device.js';

export interface OpenNsmOptions {
  /** Path of the NSM emulator's Unix socket; when absent, the real device is used. */
  emulatorSocket?: string;
  /** Override the device path (tests). */
  devicePath?: string;
}

export async function openNsm(opts: OpenNsmOptions = {}): Promise<Nsm> {
  if (opts.emulatorSocket) return new NsmClient(await SocketNsmDevice.connect(opts.emulatorSocket));
  return new NsmClient(DevNsmDevice.open(opts.devicePath ?? NSM_DEVICE_PATH));
}
