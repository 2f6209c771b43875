// `npm run bench`: one run, medians of the MPC operations next to one-party baselines measured in
// the same process, plus modPow BigInt vs OpenSSL, the coordinator's REST API, and the end-to-end
// signing path through every process. Targets are printed, not asserted. Iteration counts and time
// budgets keep the whole run around three minutes on 2 vCPUs.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { measureBaselines } from '../bench/baselines.js';
import { measureFrost } from '../bench/frost-bench.js';
import { measureEcdsa, type EcdsaBench } from '../bench/ecdsa-bench.js';
import { measureModPow } from '../bench/modpow-bench.js';
import { measureProofs } from '../bench/proofs-bench.js';
import { formatMs, printRows, type Row } from '../bench/harness.js';
import { measureCoordinator } from '../bench/coordinator-bench.js';
import { measureEndToEnd } from '../bench/e2e-bench.js';

process.env.NODE_ENV ??= 'production';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // the local stack's KMS client, in this process
const started = performance.now();
console.log(`nitro-cosigner MPC benchmark — Node ${process.version}, OpenSSL ${process.versions.openssl}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);
console.log('(medians; both parties run in this one process, every message CBOR-encoded and decoded; "per party" is each party\'s own compute,')
console.log(' which is what one machine pays in deployment, where the parties run in parallel on different hosts)\n');

const base = measureBaselines();
const ed = measureFrost('ed25519');
const tr = measureFrost('bip340');

let ecdsa: EcdsaBench | undefined;
let ecdsaError: string | undefined;
try {
  ecdsa = measureEcdsa();
} catch (e) {
  ecdsaError = e instanceof Error ? e.message : String(e);
}

const rows: Row[] = [];
if (ecdsa) {
  rows.push({ operation: 'ECDSA 2P keygen (incl. Paillier)', mpc: ecdsa.keygen, baselines: [base.nodeSecp256k1Keygen, base.nobleSecp256k1Keygen], targetMs: 500 });
  rows.push({ operation: 'ECDSA 2P sign (secp256k1)', mpc: ecdsa.sign, baselines: [base.nodeSecp256k1Sign, base.nobleSecp256k1Sign], targetMs: 8 });
  rows.push({ operation: 'ECDSA 2P sign, r^N precomputed', mpc: ecdsa.signPooled, baselines: [base.nodeSecp256k1Sign, base.nobleSecp256k1Sign], targetMs: 8 });
  rows.push({ operation: 'ECDSA 2P sign, r^N pre., path', mpc: ecdsa.signPooledPath, baselines: [base.nodeSecp256k1Sign, base.nobleSecp256k1Sign], targetMs: ecdsa.signPooled.medianMs + 0.1 });
}
rows.push({ operation: 'FROST Ed25519 2-of-2 sign', mpc: ed.sign, baselines: [base.nodeEd25519Sign, base.nobleEd25519Sign], targetMs: 0.4 });
rows.push({ operation: 'FROST Ed25519 2-of-2 sign, path', mpc: ed.signPath, baselines: [base.nodeEd25519Sign, base.nobleEd25519Sign], targetMs: ed.sign.medianMs + 0.1 });
rows.push({ operation: 'FROST BIP340 2-of-2 sign (Taproot)', mpc: tr.sign, baselines: [base.nobleSchnorrSign], targetMs: 0.6 });
rows.push({ operation: 'FROST BIP340 2-of-2 sign, path', mpc: tr.signPath, baselines: [base.nobleSchnorrSign], targetMs: tr.sign.medianMs + 0.1 });
rows.push({ operation: 'FROST Ed25519 2-of-2 DKG', mpc: ed.dkg, baselines: [base.nodeSecp256k1Keygen] });
rows.push({ operation: 'FROST BIP340 2-of-2 DKG', mpc: tr.dkg, baselines: [base.nobleSecp256k1Keygen] });
printRows(rows);
console.log('("path" rows: each party derives its child key from the path [44, 60, 0, 0, 0] inside every timed run, cached per key and path;')
console.log(' their target is the master-key row + 0.1 ms. Targets are issue 12\'s; "auth" is the Ed25519 envelope signing and checking of all messages.)')
console.log('Anchors measured elsewhere on this machine class (issue 12, fireblocks/mpc-lib, C++): MPC-BAM ECDSA sign 54.8 ms, MPC-CMP online 323 ms,')
console.log(' CMP from a presignature 0.61 ms, BAM keygen 3.64 s, EdDSA 2-party 0.45 ms, EdDSA with a BIP44 path 3.62 ms.')

if (ecdsa) {
  console.log(`\nECDSA one-off per party: ring-Pedersen 2048-bit parameters ${formatMs(ecdsa.ringPedersenSetupMs)} (generated once, reused across keys)`);
  console.log(`ECDSA keygen contains P1's Paillier-2048 key generation: median ${formatMs(ecdsa.paillierKeygen.medianMs)} over ${ecdsa.paillierKeygen.iterations} runs`);
  const pr = measureProofs(ecdsa.ringPedersen);
  console.log(`ECDSA keygen proofs (once per key, inside the keygen row; 2048-bit moduli): Πprm ${pr.prmRepetitions} repetitions prove ${formatMs(pr.prmProve.medianMs)} / verify ${formatMs(pr.prmVerify.medianMs)}; `
    + `Πmod ${pr.modRepetitions} repetitions prove ${formatMs(pr.modProve.medianMs)} / verify ${formatMs(pr.modVerify.medianMs)} `
    + `(at 80 repetitions each would cost 80/128 of that)`);
} else {
  console.log(`\nECDSA two-party engine not measured: ${ecdsaError}`);
}

const mp = measureModPow();
console.log(`\nmodPow (active route after the start-up self-test: ${mp.route})`);
for (const r of mp.rows) {
  console.log(`  ${r.shape}: BigInt ${formatMs(r.bigint.medianMs)}, OpenSSL ${formatMs(r.openssl.medianMs)} (×${(r.bigint.medianMs / r.openssl.medianMs).toFixed(1)} faster)`);
}
const co = await measureCoordinator();
console.log('\nCoordinator REST API (loopback, keep-alive; request JWTs signed before timing; server and client share this process)');
const bareAt = (conc: number) => co.loads.find((l) => l.name.startsWith('bare') && l.concurrency === conc)!.perSecond;
for (const l of co.loads) {
  const ratio = l.name.startsWith('bare') ? '' : `  (${((l.perSecond / bareAt(l.concurrency)) * 100).toFixed(0)}% of bare fastify)`;
  console.log(`  ${l.name.padEnd(44)} c=${String(l.concurrency).padEnd(3)} ${l.perSecond.toFixed(0).padStart(6)} req/s  p50 ${formatMs(l.p50Ms)}  p99 ${formatMs(l.p99Ms)}${ratio}`);
}
console.log(`  long-poll wake-up (item added → poll answered), ${co.wakeSamples} samples: p50 ${formatMs(co.wakeP50Ms)}, p99 ${formatMs(co.wakeP99Ms)} (target p99 ≤ 5 ms)`);
console.log('  (targets, issue 8: ≥ 1 000 authenticated GETs/s on 2 cores)');

try {
  const e2e = await measureEndToEnd([{ concurrency: 1, requests: 30 }, { concurrency: 10, requests: 100 }, { concurrency: 50, requests: 150 }]);
  console.log(`\nEnd to end: API → TAP → long poll → parent → enclave → callback (reference handler, approves) → MPC → COMPLETED via the API`);
  console.log(`  (RAW ECDSA secp256k1, every part its own process on this machine, the v5 SDK as client; stack up and keys made in ${formatMs(e2e.setupMs)})`);
  for (const l of e2e.loads) {
    console.log(`  c=${String(l.concurrency).padEnd(3)} ${String(l.completed).padStart(4)}/${l.requests} signed  p50 ${formatMs(l.p50Ms)}  p99 ${formatMs(l.p99Ms)}  ${l.perSecond.toFixed(1)} signatures/s`);
  }
  if (ecdsa) console.log(`  MPC only, same run: ECDSA 2P sign median ${formatMs(ecdsa.sign.medianMs)} (both parties in one process), ${formatMs(ecdsa.signPooled.medianMs)} with r^N precomputed`);
  console.log('  (targets, issue 9: p50 ≤ 30 ms, p99 ≤ 100 ms, ≥ 60 ECDSA signatures/s on 2 cores; completion seen by a 3 ms list poll)');
} catch (e) {
  console.log(`\nEnd to end not measured: ${e instanceof Error ? e.message : String(e)}`);
}

console.log(`\ntotal bench time ${formatMs(performance.now() - started)}`);
