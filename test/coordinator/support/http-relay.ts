// The co-signer API's MPC relay as an MpcPartyEndpoint, called over HTTP the way the co-signer's
// parent calls it: the channel hello to the opening, then frames — so tests that drive the
// engine's co-signer (engine-cosigner.ts) go through the real routes, JSON and all.
import { frameFromJson, frameToJson, helloFromJson, helloToJson } from '../../../shared/cosigner-api/mpc-channel.js';
import type { MpcPartyEndpoint } from '../../../coordinator/mpc/party-endpoint.js';
import type { TestCosigner } from './cosigner.js';

export function httpRelay(http: TestCosigner): MpcPartyEndpoint {
  const sid = (ref: { sessionId: Uint8Array }) => Buffer.from(ref.sessionId).toString('hex');
  const ok = (r: { status: number; json: any }) => {
    if (r.status !== 200) throw new Error(`relay ${r.status}: ${JSON.stringify(r.json)?.slice(0, 200)}`);
    return r.json;
  };
  const frames = (json: any) => (json.messages as unknown[]).map((m, i) => frameFromJson(m, `messages[${i}]`));
  return {
    opening: async (ref, hello) => {
      const json = ok(await http.call('POST', `/cosigner/v1/mpc/${sid(ref)}/opening`, { hello: helloToJson(hello) }));
      return { hello: helloFromJson(json.hello), messages: frames(json) };
    },
    receive: async (ref, messages) => frames(ok(await http.call('POST', `/cosigner/v1/mpc/${sid(ref)}/messages`, { messages: messages.map(frameToJson) }))),
  };
}
