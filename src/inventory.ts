/**
 * Every IPC object this user can see, of every kind, in one list: POSIX shared memory (and the
 * dipc ring channels and mutexes recognised inside it), POSIX queues, named semaphores, the three
 * System V kinds, FIFOs and socket files under given directories, and bound Unix sockets. This
 * is what the `dipc` command prints with `dipc ls`; it is a module of its own so that programs
 * (a monitor, a test that checks it cleaned up) can use it too.
 *
 * Each object says who owns it, its mode, its size or count, who created it and whether that
 * process is still alive, how many processes have it open, and when it was last used. From
 * these follow two judgements:
 *
 * - **stale**: provably abandoned, what `dipc rm --stale` and {@linkcode staleIpcObjects}
 *   remove. Only two kinds of object can be proved so: a dipc ring channel whose recorded
 *   endpoints are all dead (and that nobody has mapped), and a socket file that no socket is
 *   bound to (checked by the file's inode, through the kernel's socket diagnostics).
 * - **orphan**: its creator is known to be dead and nobody has it attached, yet nothing says it
 *   was abandoned: a System V segment is made to outlive its creator (`ipcmk -M`'s, a database's,
 *   another program's). Orphans are shown, and removed only when asked for by name or with
 *   `includeOrphans` (`dipc rm --stale --include-orphans`).
 *
 * Everything else is neither: where the system keeps no creator (POSIX objects, System V queues
 * and semaphore sets) nothing can be proved.
 *
 * Names are whatever anyone wrote into `/dev/shm` or a directory: every object is listed however
 * it is named. A name that is not valid UTF-8 has its exact bytes in `nameHex` (lowercase hex),
 * and `name` shows those bytes as U+FFFD; {@linkcode removeIpcObject} removes it by its bytes.
 * {@linkcode describeObject} and dipc's error messages escape names as `ls -b` does
 * (src/_printable.ts), so nothing in a name can act on a terminal. What `/dev/shm` holds that is
 * no IPC object (a FIFO, a symbolic link, a directory) is reported in `notes`.
 *
 * What it reads: `/dev/shm`, `/dev/mqueue` (when mounted), `/proc/sysvipc/*` (as `ipcs` does),
 * `/proc/net/unix`, `/proc/PID/fd` and `/proc/PID/maps` of the processes this user may look
 * into, and `/etc/passwd` for user names, all through FFI: it needs `--allow-ffi` only.
 * Everything it finds in shared memory is untrusted: a header that does not check out is
 * reported as plain shared memory. Headers are read with `pread` into private memory, never
 * through a mapping of somebody else's object (a sparse file on a full `/dev/shm` would raise
 * SIGBUS on the first touch of a hole).
 *
 * @module
 */

export { IPC_KINDS, type IpcKind } from "./_ipc_kinds.ts";
export {
  describeObject,
  type IpcInventory,
  type IpcMutex,
  type IpcObject,
  type IpcProcess,
  type IpcRing,
  listIpcObjects,
  type ListIpcOptions,
  printableName,
} from "./_inventory_list.ts";
export {
  ipcObjectInUse,
  removeIpcObject,
  type RemoveIpcOptions,
  staleIpcObjects,
  type StaleIpcOptions,
} from "./_inventory_remove.ts";
