/**
 * The kinds of object the inventory knows, in a file of their own so that the command can name
 * them (options, completions) without loading the inventory.
 *
 * @module
 */

/** The kinds of object the inventory knows. */
export type IpcKind =
  | "shm"
  | "ring"
  | "sem"
  | "mq"
  | "sysv-shm"
  | "sysv-mq"
  | "sysv-sem"
  | "fifo"
  | "socket";

/** Every kind, in the order `dipc ls` lists them. */
export const IPC_KINDS: readonly IpcKind[] = [
  "shm",
  "ring",
  "sem",
  "mq",
  "sysv-shm",
  "sysv-mq",
  "sysv-sem",
  "fifo",
  "socket",
];
