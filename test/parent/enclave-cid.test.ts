import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidFromDescribeEnclaves, resolveEnclaveCid } from '../../parent/enclave-cid.js';
import { isCosignerError } from '../../shared/errors.js';

// The shape `nitro-cli describe-enclaves` prints (aws-nitro-enclaves-cli, EnclaveDescribeInfo).
const described = (cid: number, state = 'RUNNING', name = 'cosigner') =>
  JSON.stringify([{ EnclaveName: name, EnclaveID: 'i-0123456789abcdef0-enc0123456789abcdef', ProcessID: 4242, EnclaveCID: cid, NumberOfCPUs: 2, CPUIDs: [1, 3], MemoryMiB: 2048, State: state, Flags: 'NONE' }]);

describe('parent: enclave CID resolution', () => {
  it('takes the CID of the running enclave, by name when given', () => {
    expect(cidFromDescribeEnclaves(described(17), undefined)).to.equal(17);
    expect(cidFromDescribeEnclaves(described(23), 'cosigner')).to.equal(23);
  });

  it('refuses when no enclave runs, the name does not match, or the output is not JSON', () => {
    for (const [out, name] of [[described(17, 'TERMINATING'), undefined], [described(17), 'other'], ['[]', undefined], ['oops', undefined], [described(2), undefined]] as const) {
      let err: unknown;
      try { cidFromDescribeEnclaves(out, name); } catch (e) { err = e; }
      expect(isCosignerError(err), String(out)).to.equal(true);
    }
  });

  it('asks nitro-cli on every call, so a restarted enclave with a new CID is found', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nitro-cli-'));
    const cli = join(dir, 'nitro-cli');
    const fake = (cid: number) => {
      writeFileSync(cli, `#!/bin/sh\n[ "$1" = describe-enclaves ] || exit 3\necho '${described(cid)}'\n`);
      chmodSync(cli, 0o755);
    };
    try {
      fake(16);
      expect(await resolveEnclaveCid({ kind: 'auto', name: undefined, nitroCli: cli })).to.equal(16);
      fake(19);
      expect(await resolveEnclaveCid({ kind: 'auto', name: undefined, nitroCli: cli })).to.equal(19);
      const err = await resolveEnclaveCid({ kind: 'auto', name: undefined, nitroCli: join(dir, 'absent') }).catch((e: unknown) => e);
      expect(isCosignerError(err, 'TRANSPORT_ERROR')).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
