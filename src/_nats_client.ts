/**
 * The NATS client dipc uses, named once: the official client from npm, pinned. Every NATS part
 * of dipc (src/nats.ts, src/nats_pool.ts, src/_nats_connect.ts) and the benchmarks import it from
 * here. (Inline `npm:` specifiers rather than an import map, so that a program importing dipc
 * from a URL resolves them without a config of its own.)
 *
 * @module
 */

export {
  connect,
  headers,
  type Msg,
  nanos,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from "npm:@nats-io/transport-node@3.4.0";
export {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from "npm:@nats-io/jetstream@3.4.0";
