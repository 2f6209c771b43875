// Typed RPC over the vsock channel: one entry point for both sides. See messages.ts for the
// envelopes, rpc-server.ts and rpc-client.ts for what each side does with bad input.
export { RpcServer, type RpcHandlers, type RpcServerOptions, type CallContext } from './rpc-server.js';
export { RpcClient, type RpcClientOptions, type ConnectionState } from './rpc-client.js';
export type { MessageCatalog, MessageSpec, MessageType, RequestOf, ResponseOf } from './messages.js';
