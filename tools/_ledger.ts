// The ledger of IPC objects a test run made, shared by the test helpers (which write it) and
// tools/ci.ts (which reads it for the run's final leak check): one line an object, either the
// UUID a POSIX name carries or "shm|msg|sem id=N" for a System V object.

/**
 * The prefix of a line with the most bytes of POSIX queues one test process held at once (as
 * RLIMIT_MSGQUEUE counts them) and the limit, as `PEAK/LIMIT`, written by the test helpers
 * whenever it grows.
 */
export const MQ_PEAK_PREFIX = "mq-peak-bytes=";

/** The environment variable that names the ledger file, when tools/ci.ts runs the tests. */
export const LEDGER_ENV = "DIPC_TEST_LEDGER";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** The ledger line for a System V object. */
export function sysvEntry(kind: "shm" | "msg" | "sem", id: number | string): string {
  return `${kind} id=${id}`;
}

/** The ledger line for a POSIX object's path ("/dev/shm/…", "/dev/mqueue/…"), if it has one. */
export function posixEntry(path: string): string | undefined {
  return UUID.exec(path)?.[0];
}
