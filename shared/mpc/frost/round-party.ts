// The round bookkeeping both FROST parties share: each round expects exactly one message from
// every peer; envelopes are checked (protocol, session, addressee, sender, round) before the
// payload is looked at; a message for the next round that arrives early is held (at most one per
// peer) because with three or more parties a fast peer may move on first; anything else —
// duplicate, unknown sender, other session, other round — kills the session. A dead or finished
// party never accepts another message, and start() works once.
import { CosignerError, isCosignerError } from '../../errors.js';
import { checkEnvelope, type MpcMessage, type Party } from '../party.js';
import { requireAuthenticated, type AuthenticatedMessage } from '../authenticated-message.js';

export abstract class RoundParty<Output> implements Party<Output> {
  #round = 0; // 0: not started; 1..lastRound: waiting for that round; lastRound + 1: done
  #dead = false;
  #output: Output | undefined;
  readonly #received = new Map<number, unknown>();
  readonly #early = new Map<number, MpcMessage>();

  protected constructor(
    readonly protocol: string,
    readonly sessionId: Uint8Array,
    readonly self: number,
    protected readonly peers: readonly number[],
    private readonly lastRound: number,
  ) {}

  /** Messages of round 1. */
  protected abstract begin(): MpcMessage[];
  /** Parse and check one peer's payload for `round` (schema first); return what to keep. */
  protected abstract accept(round: number, from: number, payload: unknown): unknown;
  /** All peers' payloads for `round` are in: the next round's messages, or the output after the last round. */
  protected abstract complete(round: number, payloads: ReadonlyMap<number, unknown>): { send: MpcMessage[] } | { output: Output };
  /** Called once when the session dies, to erase secrets. */
  protected abstract abort(): void;

  get done(): boolean {
    return this.#output !== undefined;
  }

  result(): Output {
    if (this.#output === undefined) throw new CosignerError('MPC_STATE', `${this.protocol}: no result yet`);
    return this.#output;
  }

  start(): MpcMessage[] {
    if (this.#round !== 0 || this.#dead) throw new CosignerError('MPC_STATE', `${this.protocol}: a party can only be started once`);
    return this.#guard(() => {
      this.#round = 1;
      return this.begin();
    });
  }

  receive(message: AuthenticatedMessage): MpcMessage[] {
    if (this.#dead) throw new CosignerError('MPC_STATE', `${this.protocol}: session has been aborted`);
    if (this.#round === 0) throw new CosignerError('MPC_STATE', `${this.protocol}: receive() before start()`);
    if (this.done) throw new CosignerError('MPC_STATE', `${this.protocol}: session is finished`);
    return this.#guard(() => {
      requireAuthenticated(message, this.protocol);
      const early = typeof message?.round === 'number' && message.round === this.#round + 1 && this.#round < this.lastRound;
      checkEnvelope(message, { protocol: this.protocol, sessionId: this.sessionId, self: this.self, peers: this.peers, round: early ? this.#round + 1 : this.#round });
      if (early) {
        if (this.#early.has(message.from)) throw new CosignerError('MPC_INVALID_MESSAGE', `duplicate round ${message.round} message from party ${message.from}`);
        this.#early.set(message.from, message);
        return [];
      }
      const out = this.#take(message);
      // Drain held messages once their round has started.
      while (this.#early.size > 0 && !this.done && this.#received.size === 0) {
        const held = [...this.#early.values()];
        this.#early.clear();
        for (const m of held) out.push(...this.#take(m));
      }
      return out;
    });
  }

  #take(message: MpcMessage): MpcMessage[] {
    if (this.#received.has(message.from)) throw new CosignerError('MPC_INVALID_MESSAGE', `duplicate round ${message.round} message from party ${message.from}`);
    this.#received.set(message.from, this.accept(this.#round, message.from, message.payload));
    if (this.#received.size < this.peers.length) return [];
    const payloads = new Map(this.#received);
    this.#received.clear();
    const next = this.complete(this.#round, payloads);
    this.#round += 1;
    if ('output' in next) {
      this.#output = next.output;
      return [];
    }
    return next.send;
  }

  /** Build one message per peer (payload may depend on the peer). */
  protected toPeers(round: number, payloadFor: (peer: number) => unknown): MpcMessage[] {
    return this.peers.map((to) => ({ protocol: this.protocol, sessionId: new Uint8Array(this.sessionId), from: this.self, to, round, payload: payloadFor(to) }));
  }

  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      this.#dead = true;
      this.#received.clear();
      this.#early.clear();
      this.abort();
      // One code for one failure across the engine: a payload that fails its schema is
      // MPC_INVALID_MESSAGE here as in ECDSA (two-party-session.ts).
      if (isCosignerError(e, 'SCHEMA_VIOLATION')) throw new CosignerError('MPC_INVALID_MESSAGE', `${this.protocol}: ${e.message}`, e.details ? { ...e.details } : undefined);
      if (isCosignerError(e)) throw e;
      // Untyped (library) errors: their text may quote values, so only the error's name goes out;
      // the original stays as `cause`, which is never serialised to a peer or a log line.
      throw new CosignerError('MPC_INVALID_MESSAGE', `${this.protocol}: invalid input (${e instanceof Error ? e.name : 'error'})`, undefined, { cause: e });
    }
  }
}
