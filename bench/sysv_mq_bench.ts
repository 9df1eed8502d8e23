/**
 * System V message queues between two processes: throughput (256 KiB per iteration in messages
 * of the group's size, into a queue a Deno child drains) and round trip (a message to a child
 * that echoes it on a second queue), at 64 B, 4 KiB and 8 KiB, against Deno's Unix sockets (the
 * baseline). C's `sysvmq` figures come from `deno task bench:c`.
 *
 * Run: deno bench -A bench/sysv_mq_bench.ts
 *
 * @module
 */

import { queueBenches } from "./_mq_io.ts";

await queueBenches("sysv", "System V mq");
