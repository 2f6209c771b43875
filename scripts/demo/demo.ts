// The local stack's demonstration (issue 9 "The local stack and the demo"), as a user would do it
// with the official Fireblocks SDK against the coordinator: wait for the workspace's master keys,
// fund a vault address on the devnet, send an EIP-1559 ETH transfer through the API (TAP, the
// co-signer's callback handler, MPC with the enclave, broadcast, confirmations) and check the
// signed transaction recovers to the vault address; then a RAW Ed25519 signing checked with
// node:crypto. Throws on anything that does not verify.
import { createHash, createPrivateKey, createPublicKey, randomUUID, verify as edVerify } from 'node:crypto';
import { SignJWT } from 'jose';
import { readFileSync } from 'node:fs';
import { FireblocksSDK } from 'fireblocks-sdk';
import { createPublicClient, http, keccak256, parseEther, recoverTransactionAddress, serializeTransaction, type Hex } from 'viem';
import { createDevFaucet } from '../../coordinator/chains/evm/dev-faucet.js';

export interface DemoContext {
  baseUrl: string;
  apiKey: string;
  privateKeyFile: string;
  chain: { rpcUrl: string; chainId: number; devAccount: `0x${string}` };
}

async function until<T>(what: string, f: () => Promise<T | null | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // Passing failures (a route not ready yet) are retried; a final one ends the wait.
    const v = await f().catch((e: Error & { final?: boolean }) => {
      if (e.final) throw e;
      return null;
    });
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function finished(sdk: FireblocksSDK, id: string, what: string) {
  return until(`${what} to complete`, async () => {
    const tx = await sdk.getTransactionById(id);
    if (['FAILED', 'REJECTED', 'BLOCKED', 'CANCELLED'].includes(tx.status)) throw Object.assign(new Error(`${what}: ${tx.status}/${tx.subStatus}`), { final: true });
    return tx.status === 'COMPLETED' ? tx : null;
  }, 180_000);
}

/** A request to one of the coordinator's own routes, authenticated as the SDKs do (API key + RS256 request JWT). */
export async function signedRequest(ctx: Pick<DemoContext, 'baseUrl' | 'apiKey' | 'privateKeyFile'>, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ uri: path, nonce: randomUUID(), iat: now, exp: now + 55, sub: ctx.apiKey, bodyHash: createHash('sha256').update(text).digest('hex') })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .sign(createPrivateKey(readFileSync(ctx.privateKeyFile, 'utf8')));
  const res = await fetch(ctx.baseUrl + path, { method, body: body === undefined ? undefined : text, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'x-api-key': ctx.apiKey, authorization: `Bearer ${jwt}` } });
  return { status: res.status, text: await res.text() };
}

/**
 * Publishes a TAP as the ADMIN user. With a paired co-signer that is a configuration change (202):
 * the enclave checks the signed request, asks the callback handler, signs with its CCK, and the
 * coordinator applies it; this waits for that decision and throws unless it is APPROVED.
 */
export async function publishTap(ctx: Pick<DemoContext, 'baseUrl' | 'apiKey' | 'privateKeyFile'>, policy: unknown, timeoutMs = 120_000): Promise<{ changeId: string | null }> {
  const r = await signedRequest(ctx, 'POST', '/v1/tap/policy', policy);
  if (r.status === 200) return { changeId: null };
  if (r.status !== 202) throw new Error(`publishing the policy: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  const { changeId } = JSON.parse(r.text) as { changeId: string };
  await until(`the co-signer's CCK decision on policy change ${changeId}`, async () => {
    const c = await signedRequest(ctx, 'GET', `/v1/config_changes/${changeId}`);
    const change = JSON.parse(c.text) as { status?: string; reason?: string | null };
    if (change.status === 'WAITING_FOR_APPROVAL' || c.status !== 200) return null;
    if (change.status !== 'APPROVED') throw Object.assign(new Error(`policy change ${changeId}: ${change.status} ${change.reason ?? ''}`), { final: true });
    return true;
  }, timeoutMs);
  return { changeId };
}

export async function runDemo(ctx: DemoContext, say: (line: string) => void): Promise<void> {
  const sdk = new FireblocksSDK(readFileSync(ctx.privateKeyFile, 'utf8'), ctx.apiKey, ctx.baseUrl, undefined, { anonymousPlatform: true });
  say('demo: waiting for the workspace\'s master keys (DKG between the coordinator and the enclave)…');
  const accounts = await sdk.getVaultAccountsWithPageInfo({});
  const vault = accounts.accounts.find((a) => a.name === 'demo') ?? (await sdk.createVaultAccount('demo'));
  const wallet = await until('the ETH master key', async () => {
    const existing = await sdk.getDepositAddresses(vault.id, 'ETH_TEST5').catch(() => []);
    if (existing.length > 0) return { address: existing[0]!.address };
    return sdk.createVaultAsset(vault.id, 'ETH_TEST5');
  }, 180_000);
  const from = wallet.address as `0x${string}`;
  say(`demo: vault account ${vault.id} "demo", ETH_TEST5 address ${from}`);

  // A policy that lets the demo's operations through, published as the ADMIN user over the REST API.
  // With the co-signer paired, the publication waits for the enclave's CCK approval.
  const published = await publishTap(ctx, { rules: [{ name: 'demo: transfers and raw signing', operations: ['TRANSFER', 'RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
  if (published.changeId) say(`demo: policy published, approved by the co-signer's Configuration Change Key (change ${published.changeId})`);

  const faucet = await createDevFaucet({ rpcUrl: ctx.chain.rpcUrl, chainId: ctx.chain.chainId, account: ctx.chain.devAccount });
  await faucet.sendNative(from, parseEther('1'));
  say(`demo: funded ${from} with 1 ETH on the devnet`);

  const to = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString('hex')}` as `0x${string}`;
  const created = await sdk.createTransaction({ operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: '0.01', source: { type: 'VAULT_ACCOUNT', id: vault.id }, destination: { type: 'ONE_TIME_ADDRESS', oneTimeAddress: { address: to } } } as never);
  say(`demo: transfer ${created.id} of 0.01 ETH_TEST5 to ${to}: ${created.status}`);
  const tx = await finished(sdk, created.id, 'the transfer');
  const node = createPublicClient({ transport: http(ctx.chain.rpcUrl) });
  const onChain = await node.getTransaction({ hash: tx.txHash as Hex });
  // The signed transaction as broadcast, rebuilt from the node's fields; its hash must be the one the API reports.
  const serialized = serializeTransaction(
    { type: 'eip1559', chainId: ctx.chain.chainId, nonce: onChain.nonce, maxFeePerGas: onChain.maxFeePerGas!, maxPriorityFeePerGas: onChain.maxPriorityFeePerGas!, gas: onChain.gas, to: onChain.to!, value: onChain.value, data: onChain.input, accessList: onChain.accessList ?? [] },
    { r: onChain.r, s: onChain.s, yParity: onChain.yParity! },
  );
  if (keccak256(serialized) !== tx.txHash) throw new Error('the transaction on chain is not the one the API reports');
  if (onChain.type !== 'eip1559') throw new Error(`the transfer is a ${onChain.type} transaction, not EIP-1559`);
  const sender = await recoverTransactionAddress({ serializedTransaction: serialized });
  say(`demo: raw signed transaction ${serialized}`);
  say(`demo: it recovers to ${sender}; transaction hash ${tx.txHash} (block ${onChain.blockNumber})`);
  if (sender.toLowerCase() !== from.toLowerCase()) throw new Error(`the signed transaction recovers to ${sender}, not the vault address ${from}`);
  const balance = await node.getBalance({ address: to });
  if (balance !== parseEther('0.01')) throw new Error(`the recipient holds ${balance} wei, not 0.01 ETH`);

  const message = Buffer.from('nitro co-signer demo: an Ed25519 RAW message').toString('hex');
  const rawTx = await sdk.createTransaction({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: vault.id }, extraParameters: { rawMessageData: { algorithm: 'MPC_EDDSA_ED25519', messages: [{ content: message, derivationPath: [44, 501, Number(vault.id), 0, 0] }] } } } as never);
  const signed = await finished(sdk, rawTx.id, 'the Ed25519 RAW signing');
  const m = signed.signedMessages![0]!;
  const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(m.publicKey, 'hex')]), format: 'der', type: 'spki' });
  if (!edVerify(null, Buffer.from(message, 'hex'), pub, Buffer.from(m.signature.fullSig, 'hex'))) throw new Error('the Ed25519 signature does not verify');
  say(`demo: Ed25519 RAW signature ${m.signature.fullSig} verifies under ${m.publicKey} (node:crypto)`);
  say('demo: everything verified');
}
