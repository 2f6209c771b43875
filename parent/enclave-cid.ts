// Where the enclave is. Its CID is fixed by `nitro-cli run-enclave --enclave-cid`, or assigned by
// the allocator, in which case a restarted enclave may come back under a new CID. With 'auto'
// the parent asks `nitro-cli describe-enclaves` before every connection attempt.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CosignerError } from '../shared/errors.js';

const run = promisify(execFile);

export type EnclaveCidSetting = { kind: 'fixed'; cid: number } | { kind: 'auto'; name: string | undefined; nitroCli: string };

interface DescribedEnclave {
  EnclaveName?: unknown;
  EnclaveCID?: unknown;
  State?: unknown;
}

/** Pick the running enclave's CID from `nitro-cli describe-enclaves` output (a JSON array). */
export function cidFromDescribeEnclaves(json: string, name: string | undefined): number {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    throw new CosignerError('TRANSPORT_ERROR', 'nitro-cli describe-enclaves did not print JSON');
  }
  if (!Array.isArray(list)) throw new CosignerError('TRANSPORT_ERROR', 'nitro-cli describe-enclaves did not print a list');
  const running = (list as DescribedEnclave[]).filter(
    (e) => e && e.State === 'RUNNING' && (name === undefined || e.EnclaveName === name),
  );
  if (running.length === 0) throw new CosignerError('TRANSPORT_ERROR', `no running enclave${name ? ` named ${name}` : ''}`);
  if (running.length > 1) throw new CosignerError('CONFIG_INVALID', 'several running enclaves; name one with --enclave-name');
  const cid = running[0]!.EnclaveCID;
  if (typeof cid !== 'number' || !Number.isInteger(cid) || cid < 4 || cid > 0xfffffffe) {
    throw new CosignerError('TRANSPORT_ERROR', 'nitro-cli reported an invalid enclave CID');
  }
  return cid;
}

export async function resolveEnclaveCid(setting: EnclaveCidSetting): Promise<number> {
  if (setting.kind === 'fixed') return setting.cid;
  let stdout: string;
  try {
    ({ stdout } = await run(setting.nitroCli, ['describe-enclaves'], { timeout: 10_000, maxBuffer: 1 << 20 }));
  } catch (e) {
    throw new CosignerError('TRANSPORT_ERROR', `cannot run ${setting.nitroCli} describe-enclaves: ${(e as Error).message.split('\n')[0]}`);
  }
  return cidFromDescribeEnclaves(stdout, setting.name);
}
