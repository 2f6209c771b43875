// The co-signer's processes for the integration tests, as `npm start` runs them: NSM and KMS
// emulators, the enclave and the parent daemon over loopback vsock, in a folder of their own;
// plus an RPC connection to the enclave for tests that play the parent themselves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStack } from '../../../scripts/stack.js';
import { LoopbackTransport } from '../../../shared/channel/loopback-transport.js';
import { RpcClient } from '../../../shared/channel/rpc.js';
import { EnclaveMessages, ENCLAVE_RPC_PORT } from '../../../shared/messages.js';
import { freePort } from '../../support/net.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface CosignerStack {
  work: string;
  stack: LocalStack;
  /** Waits for the parent's next `ready` (from its line `from`) and checks the boot's outcome. */
  waitReady(from: number, outcome?: string): Promise<void>;
  enclaveClient(): RpcClient<typeof EnclaveMessages>;
  close(): Promise<void>;
}

export async function startCosignerStack(prefix: string, opts: { enclaveArgs?: string[] } = {}): Promise<CosignerStack> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const stack = new LocalStack({ root, workDir: work, kmsPort: await freePort() });
  const clients: RpcClient<typeof EnclaveMessages>[] = [];
  const waitReady = async (from: number, outcome?: string) => {
    const line = await stack.waitFor('parent', /"msg":"ready"|enclave boot failed/, 120_000, from);
    const got = (JSON.parse(line) as { outcome?: string }).outcome;
    if (outcome !== undefined && got !== outcome) throw new Error(`expected boot outcome ${outcome}, got: ${line}`);
  };
  await stack.startNsm();
  await stack.startKms();
  await stack.ensureKey();
  stack.startEnclave(opts.enclaveArgs);
  stack.startParent();
  await waitReady(0, 'initialised');
  return {
    work,
    stack,
    waitReady,
    enclaveClient() {
      const c = new RpcClient(EnclaveMessages, { connect: () => new LoopbackTransport({ dir: stack.socketDir }).connect(stack.enclaveCid, ENCLAVE_RPC_PORT) });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) await c.close();
      await stack.stop();
      rmSync(work, { recursive: true, force: true });
      rmSync(stack.socketDir, { recursive: true, force: true });
    },
  };
}
