/**
 * The permit both semaphores hand out (POSIX: semaphore.ts, System V: sysv_sem.ts), in a file of
 * its own so that neither semaphore module loads the other.
 *
 * @module
 */

import { checkInternal } from "./_internal.ts";

/**
 * A unit taken from a semaphore (POSIX or System V); `release()`, or the end of a `using`
 * scope, gives it back exactly once.
 *
 * @example A permit given back by its scope
 * ```ts
 * import { Semaphore } from "@dipc/dipc";
 *
 * using sem = Semaphore.temporary({ value: 1 });
 * {
 *   using permit = await sem.acquire({ timeout: 1_000 });
 *   console.log(permit.released, sem.value); // false 0
 * }
 * console.log(sem.value); // 1
 * ```
 */
export class SemaphorePermit implements Disposable {
  #give: (() => void) | undefined;

  /** @ignore Made by `acquire()`; `give` returns the unit. */
  constructor(token: unknown, give: () => void) {
    checkInternal(token, "acquire() / tryAcquire()");
    this.#give = give;
  }

  /** Whether the unit has been given back. */
  get released(): boolean {
    return this.#give === undefined;
  }

  /**
   * Gives the unit back; calling it again does nothing.
   *
   * @throws {ClosedError} when the semaphore was closed first
   */
  release(): void {
    const give = this.#give;
    this.#give = undefined;
    give?.();
  }

  /** Same as `release()`. */
  [Symbol.dispose](): void {
    this.release();
  }
}
