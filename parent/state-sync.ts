// The parent's half of a sealed-state change (DESIGN.md "State versions"): store the file the
// enclave handed over (atomically, previous kept), then show it back so the change counts. A crash
// before the write leaves the old state on disk and the enclave's change uncounted; after it, the
// next Boot shows the new file and that confirms it.
import type { RpcClient } from '../shared/channel/rpc.js';
import type { EnclaveMessages, SealedFile } from '../shared/messages.js';
import type { Logger } from '../shared/log.js';
import type { SealedStore } from './sealed-store.js';

export async function storeStateChange(client: RpcClient<typeof EnclaveMessages>, store: SealedStore, toStore: SealedFile, log: Logger): Promise<number> {
  await store.replace(toStore);
  const { stateVersion, confirmed } = await client.call('ConfirmState', { stored: toStore });
  log.info({ stateVersion, confirmed }, confirmed ? 'sealed state change stored and confirmed' : 'sealed state already current');
  return stateVersion;
}
